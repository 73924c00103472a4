/**
 * The part file of one download and its resume state, seen from the download: what an
 * interrupted run left is kept when it still verifies, and what this run leaves is kept
 * for the next one.
 *
 * - When a part file of this download exists, the chunks its resume state lists (every
 *   chunk when the state is missing or damaged) are hashed again; those that verify are
 *   kept. A state without its part file is stale and deleted.
 * - On success the part file is linked to its final name and the state deleted. On failure
 *   or interruption the part file and its state stay when they hold verified chunks
 *   (hidden names, never the final one); otherwise they are deleted.
 * The files themselves: part-file.ts, resume-state.ts.
 */
import { createHash } from 'node:crypto'
import { logger } from '@libp2p/logger'
import { chunkCount, chunkLength, chunkHash, type Manifest } from '../../content/content-id.js'
import { FileShareError } from '../../errors.js'
import { PartFile } from './part-file.js'
import { ResumeState, readResumeState, statePathFor, hasBit } from './resume-state.js'

const log = logger('fileshare:peer:download')

export class ResumablePart {
  readonly part: PartFile
  readonly state: ResumeState
  /** one byte per chunk, 1 = verified (by an earlier run, after `recheck`) */
  readonly verified: Uint8Array
  /** true while the chunks an earlier run left are hashed again */
  private rechecking = false

  constructor (outDir: string, name: string, private readonly idText: string, private readonly manifest: Manifest) {
    this.part = new PartFile(outDir, name, idText, manifest.size)
    this.verified = new Uint8Array(chunkCount(manifest.size, manifest.chunkSize))
    this.state = new ResumeState(statePathFor(this.part.path), this.meta())
  }

  /** Keeps the chunks an earlier run left that verify again (those its state lists, or all without a valid state). */
  async recheck (onChecking: (chunks: number) => void, signal?: AbortSignal): Promise<void> {
    if (!this.part.existed) {
      this.state.remove() // a stale state without its part file
      return
    }
    const { part, state, manifest, verified } = this
    const claimed = readResumeState(state.path, this.meta())
    const buf = Buffer.allocUnsafe(manifest.chunkSize)
    this.rechecking = true
    let toCheck = verified.length
    if (claimed != null) {
      toCheck = 0
      for (let index = 0; index < verified.length; index++) if (hasBit(claimed, index)) toCheck++
    }
    onChecking(toCheck)
    let kept = 0
    for (let index = 0; index < verified.length; index++) {
      // an abort (Ctrl-C) stops the check at once; the files stay as they were (keep())
      if (signal?.aborted === true) throw new FileShareError('ABORTED', 'download aborted while checking the part file')
      if (claimed != null && !hasBit(claimed, index)) continue
      const length = chunkLength(manifest, index)
      const view = buf.subarray(0, length)
      if (await part.read(view, index * manifest.chunkSize) !== length) continue
      if (!createHash('sha256').update(view).digest().equals(chunkHash(manifest, index))) continue
      verified[index] = 1
      kept++
    }
    // recorded only now: a state written halfway through would forget the claims not yet checked
    for (let index = 0; index < verified.length; index++) if (verified[index] === 1) state.set(index)
    this.rechecking = false
    log('resuming %s: %d of %d chunks kept (%s state)', this.idText, kept, verified.length, claimed != null ? 'valid' : 'no valid')
    state.flush()
  }

  /** Every chunk verified: the part file gets its final name (returned), the state goes. */
  commit (): string {
    const path = this.part.commit()
    this.state.remove()
    return path
  }

  /** After a failure: keeps the part file and its state when they hold verified chunks. */
  keep (verifiedCount: number): void {
    if (this.rechecking) {
      // stopped while checking what an earlier run left: leave its part file and state as they are
      this.part.close()
      return
    }
    if (verifiedCount > 0) {
      this.part.close()
      this.state.flush()
      return
    }
    this.part.discard()
    this.state.remove()
  }

  private meta (): { id: string, size: number, chunkSize: number, chunks: number } {
    return { id: this.idText, size: this.manifest.size, chunkSize: this.manifest.chunkSize, chunks: this.verified.length }
  }
}
