/**
 * Resuming an interrupted download. When a part file of this download exists, the chunks
 * its resume state lists (every chunk when the state is missing or damaged) are hashed
 * again; those that verify are kept. On failure or interruption the part file and its
 * state stay when they hold verified chunks (hidden names, never the final one);
 * otherwise they are deleted. The state itself: resume-state.ts.
 */
import { createHash } from 'node:crypto'
import { logger } from '@libp2p/logger'
import { chunkLength, chunkHash, type Manifest } from '../../content/content-id.js'
import { FileShareError } from '../../errors.js'
import type { PartFile } from './part-file.js'
import { hasBit, type ResumeState } from './resume-state.js'

const log = logger('fileshare:peer:download')

export interface RecheckOptions {
  part: PartFile
  state: ResumeState
  manifest: Manifest
  idText: string
  /** the chunks the state lists, or null (no valid state): check them all */
  claimed: Uint8Array | null
  /** one byte per chunk: set to 1 for each chunk that verifies */
  verified: Uint8Array
  onChecking: (chunks: number) => void
  signal?: AbortSignal
}

/** Re-hashes the chunks an earlier run left (those its state lists, or all without a valid state). */
export async function keepVerifiedChunks (options: RecheckOptions): Promise<void> {
  const { part, state, manifest, claimed, verified, signal } = options
  const buf = Buffer.allocUnsafe(manifest.chunkSize)
  let toCheck = verified.length
  if (claimed != null) {
    toCheck = 0
    for (let index = 0; index < verified.length; index++) if (hasBit(claimed, index)) toCheck++
  }
  options.onChecking(toCheck)
  let kept = 0
  for (let index = 0; index < verified.length; index++) {
    // an abort (Ctrl-C) stops the check at once; the files stay as they were (keepForResume)
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
  log('resuming %s: %d of %d chunks kept (%s state)', options.idText, kept, verified.length, claimed != null ? 'valid' : 'no valid')
  state.flush()
}

/**
 * After a failure: keeps the part file and its state when they hold verified chunks.
 * `rechecking`: stopped while checking what an earlier run left: its files stay as they are.
 */
export function keepForResume (part: PartFile, state: ResumeState, rechecking: boolean, verifiedCount: number): void {
  if (rechecking) {
    part.close()
    return
  }
  if (verifiedCount > 0) {
    part.close()
    state.flush()
    return
  }
  part.discard()
  state.remove()
}
