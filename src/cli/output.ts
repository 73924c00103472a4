/**
 * What the commands print: JSON lines on stdout with --json (one object per event, an
 * `event` field first), human text otherwise. Failures always end in one line on stderr.
 * Text from the network goes through printable() (callers escape the fields of their human
 * text; warnings and errors are escaped here), JSON through jsonLine().
 */
import { FileShareError, exitCodeFor, toFileShareError } from '../errors.js'
import { printable, jsonLine } from './printable.js'

/** Repeats of one kind of warning are printed at most this often. */
export const WARNING_REPEAT_MS = 60_000

export class Output {
  constructor (readonly json: boolean) {}

  /** An event: printed as JSON with --json, as `human` text otherwise (nothing when omitted). */
  event (event: string, fields: Record<string, unknown>, human?: string): void {
    if (this.json) {
      process.stdout.write(jsonLine({ event, ...fields }) + '\n')
    } else if (human != null) {
      process.stdout.write(human + '\n')
    }
  }

  /** last time a kind of warning was printed, and how many of that kind were held back since */
  private readonly warned = new Map<string, { at: number, held: number }>()

  /**
   * A notice for humans on stderr (a `warning` event with --json). Repeats are rate-limited:
   * a warning of the same kind (the same text up to its numbers) within WARNING_REPEAT_MS of
   * the last one is held back, and the next one printed says how many were.
   */
  warn (message: string): void {
    const kind = message.replace(/\d+(\.\d+)?/g, '#').slice(0, 80)
    const now = Date.now()
    const last = this.warned.get(kind)
    if (last != null && now - last.at < WARNING_REPEAT_MS) {
      last.held++
      return
    }
    this.warned.set(kind, { at: now, held: 0 })
    if (this.warned.size > 100) this.warned.delete(this.warned.keys().next().value as string)
    const text = last != null && last.held > 0 ? `${message} (${last.held} similar warning${last.held === 1 ? '' : 's'} held back)` : message
    if (this.json) this.event('warning', { message: text })
    else process.stderr.write(`warning: ${printable(text)}\n`)
  }

  /** Reports a failure (one line on stderr, plus an `error` event with --json); returns the exit code. */
  fail (err: unknown): number {
    const e: FileShareError = toFileShareError(err)
    if (this.json) this.event('error', { code: e.code, message: e.message, ...(e.details ?? {}) })
    // usage text and the candidates of an ambiguous name have lines of their own; any other
    // message may quote peers: one line, escaped (its line breaks shown as \x0a)
    const candidates = Array.isArray(e.details?.candidates) ? e.details.candidates.map(String) : null
    const lines = e.code === 'USAGE' ? e.message.split('\n') : candidates != null ? [e.message.split('\n')[0], ...candidates.map(c => `  ${c}`)] : [e.message]
    process.stderr.write(`error: ${printable(lines[0])}\n`)
    // extra lines follow for humans only
    if (!this.json && lines.length > 1) process.stderr.write(lines.slice(1).map(printable).join('\n') + '\n')
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
