/**
 * Resume state: which chunks of a part file are verified, kept beside it as
 * `.NAME.<id>.state.part` (the name ends in `.part` so share scanners ignore it).
 *
 * JSON: { version, id, size, chunkSize, chunks (bitfield, base64), check (SHA-256 of the
 * rest) }. Written atomically (temporary file + rename) and at most every
 * RESUME_STATE_INTERVAL_MS while chunks verify. The state is a hint, never trusted: a
 * state that does not parse, does not match the download or fails its check is ignored,
 * and every chunk it lists is hashed again before it counts (see resume.ts). A link, FIFO
 * or anything but a regular file at the state's name is a trap ('IO'), never followed; the
 * temporary file is created exclusively (safe-open.ts).
 */
import { renameSync, unlinkSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { logger } from '@libp2p/logger'
import { RESUME_STATE_INTERVAL_MS } from './tuning.js'
import { OneShotTimer } from '../../util/one-shot-timer.js'
import { FileShareError } from '../../errors.js'
import { readRegular, writeExclusive } from '../../util/safe-open.js'

const log = logger('fileshare:peer:download:resume')
const VERSION = 1

export function statePathFor (partPath: string): string {
  return partPath.replace(/\.part$/, '.state.part')
}

interface StateFile {
  version: number
  id: string
  size: number
  chunkSize: number
  chunks: string
  check: string
}

function checksum (s: Omit<StateFile, 'check'>): string {
  return createHash('sha256').update(`${s.version}\n${s.id}\n${s.size}\n${s.chunkSize}\n${s.chunks}`).digest('hex')
}

/**
 * Reads the state at `path`: the bitfield of chunks it claims are verified, or null when
 * the state is missing, damaged or for another file.
 */
export function readResumeState (path: string, expect: { id: string, size: number, chunkSize: number, chunks: number }): Uint8Array | null {
  let parsed: StateFile
  try {
    const text = readRegular(path) // throws 'IO' at a link or a FIFO
    if (text == null) return null
    parsed = JSON.parse(text)
  } catch (err: any) {
    if (err instanceof FileShareError) throw err
    log('ignoring unreadable resume state %s: %s', path, err?.message ?? err)
    return null
  }
  const bytes = Math.ceil(expect.chunks / 8)
  if (parsed == null || typeof parsed !== 'object' || parsed.version !== VERSION || parsed.id !== expect.id ||
      parsed.size !== expect.size || parsed.chunkSize !== expect.chunkSize || typeof parsed.chunks !== 'string' ||
      parsed.check !== checksum(parsed)) {
    log('ignoring resume state %s: damaged or for another file', path)
    return null
  }
  const bits = Buffer.from(parsed.chunks, 'base64')
  if (bits.length !== bytes) return null
  return new Uint8Array(bits)
}

/** Keeps the state file of one download up to date (rate-limited, atomic writes). */
export class ResumeState {
  readonly bits: Uint8Array
  private readonly timer = new OneShotTimer(() => { this.flush() })
  private dirty = false

  constructor (readonly path: string, private readonly meta: { id: string, size: number, chunkSize: number, chunks: number }) {
    this.bits = new Uint8Array(Math.ceil(meta.chunks / 8))
  }

  /** Records chunk `index` as verified and on disk; the file follows within the interval. */
  set (index: number): void {
    this.bits[index >> 3] |= 1 << (index & 7)
    this.dirty = true
    if (!this.timer.pending) this.timer.start(RESUME_STATE_INTERVAL_MS)
  }

  /** Writes the state now if it changed (errors are logged: the state is only a hint). */
  flush (): void {
    this.timer.cancel()
    if (!this.dirty) return
    this.dirty = false
    const body = { version: VERSION, id: this.meta.id, size: this.meta.size, chunkSize: this.meta.chunkSize, chunks: Buffer.from(this.bits).toString('base64') }
    const tmp = this.path.replace(/\.part$/, '-tmp.part')
    try {
      // created exclusively (never through a link planted at its name); rename() replaces a
      // link at the state's name instead of following it
      writeExclusive(tmp, JSON.stringify({ ...body, check: checksum(body) }))
      renameSync(tmp, this.path)
    } catch (err: any) {
      log('cannot write resume state %s: %s', this.path, err?.message ?? err)
    }
  }

  /** Stops writing and deletes the state file. */
  remove (): void {
    this.timer.cancel()
    this.dirty = false
    try { unlinkSync(this.path) } catch {}
  }
}

export function hasBit (bits: Uint8Array, index: number): boolean {
  return (bits[index >> 3] & (1 << (index & 7))) !== 0
}
