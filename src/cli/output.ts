/**
 * What the commands print: JSON lines on stdout with --json (one object per event, an
 * `event` field first), human text otherwise. Failures always end in one line on stderr.
 */
import { FileShareError, exitCodeFor, toFileShareError } from '../errors.js'

export class Output {
  constructor (readonly json: boolean) {}

  /** An event: printed as JSON with --json, as `human` text otherwise (nothing when omitted). */
  event (event: string, fields: Record<string, unknown>, human?: string): void {
    if (this.json) {
      process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
    } else if (human != null) {
      process.stdout.write(human + '\n')
    }
  }

  /** A notice for humans on stderr (a `warning` event with --json). */
  warn (message: string): void {
    if (this.json) this.event('warning', { message })
    else process.stderr.write(`warning: ${message}\n`)
  }

  /** Reports a failure (one line on stderr, plus an `error` event with --json); returns the exit code. */
  fail (err: unknown): number {
    const e: FileShareError = toFileShareError(err)
    if (this.json) this.event('error', { code: e.code, message: e.message, ...(e.details ?? {}) })
    const [first, ...rest] = e.message.split('\n')
    process.stderr.write(`error: ${first}\n`)
    // extra lines (candidates of an ambiguous name) follow for humans only
    if (!this.json && rest.length > 0) process.stderr.write(rest.join('\n') + '\n')
    if (e.code === 'INTERNAL' && process.env.DEBUG != null) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`)
    return exitCodeFor(e)
  }
}

export function formatBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`
}
