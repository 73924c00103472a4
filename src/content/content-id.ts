/**
 * Content identity. A file is cut into chunks of CHUNK_SIZE bytes (the last one shorter);
 * every chunk is hashed with SHA-256. The content id is the SHA-256 "root" over a small
 * header (format tag, file size, chunk size) and the concatenated chunk hashes, printed as
 * `fs` + base32. The manifest (size, chunk size, chunk hashes) is what providers send: a
 * downloader recomputes its root, compares it with the id it asked for, and from then on
 * checks every chunk, from any provider, against the manifest's hash for that index.
 */
import { createHash } from 'node:crypto'
import { toString as u8ToString, fromString as u8FromString } from 'uint8arrays'
import { CHUNK_SIZE, MAX_CHUNKS } from './constants.js'
import { FileShareError } from '../errors.js'

export const ID_BYTES = 32
export const HASH_BYTES = 32
const ID_PREFIX = 'fs'
const ROOT_TAG = Buffer.from('fileshare/content/1\n')
const ID_PATTERN = /^fs[a-z2-7]{52}$/

export interface Manifest {
  size: number
  chunkSize: number
  /** SHA-256 of every chunk, HASH_BYTES each, in order. */
  chunkHashes: Uint8Array
}

export function chunkCount (size: number, chunkSize: number): number {
  return size === 0 ? 0 : Math.ceil(size / chunkSize)
}

/** Byte length of chunk `index` of a file of `size` bytes. */
export function chunkLength (manifest: Pick<Manifest, 'size' | 'chunkSize'>, index: number): number {
  return Math.min(manifest.chunkSize, manifest.size - index * manifest.chunkSize)
}

export function chunkHash (manifest: Manifest, index: number): Uint8Array {
  return manifest.chunkHashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES)
}

/** The content id (raw bytes) a manifest commits to. */
export function manifestRoot (manifest: Manifest): Uint8Array {
  const header = Buffer.alloc(12)
  header.writeBigUInt64BE(BigInt(manifest.size), 0)
  header.writeUInt32BE(manifest.chunkSize, 8)
  return createHash('sha256').update(ROOT_TAG).update(header).update(manifest.chunkHashes).digest()
}

/** Checks a manifest's shape (sizes, hash count); throws a PROTOCOL error when it lies. */
export function checkManifestShape (manifest: Manifest): void {
  const { size, chunkSize, chunkHashes } = manifest
  if (!Number.isSafeInteger(size) || size < 0) throw new FileShareError('PROTOCOL', 'manifest: bad size')
  if (!Number.isInteger(chunkSize) || chunkSize <= 0 || chunkSize > CHUNK_SIZE) {
    throw new FileShareError('PROTOCOL', `manifest: chunk size ${chunkSize} outside 1..${CHUNK_SIZE}`)
  }
  const chunks = chunkCount(size, chunkSize)
  if (chunks > MAX_CHUNKS) throw new FileShareError('PROTOCOL', 'manifest: file too large')
  if (chunkHashes.length !== chunks * HASH_BYTES) {
    throw new FileShareError('PROTOCOL', `manifest: ${chunkHashes.length} hash bytes for ${chunks} chunks`)
  }
}

/** True when `manifest` is well formed and hashes to `id`. */
export function manifestMatches (manifest: Manifest, id: Uint8Array): boolean {
  try {
    checkManifestShape(manifest)
  } catch {
    return false
  }
  return Buffer.from(manifestRoot(manifest)).equals(Buffer.from(id))
}

export function formatContentId (id: Uint8Array): string {
  return ID_PREFIX + u8ToString(id, 'base32')
}

export function isContentId (text: string): boolean {
  return ID_PATTERN.test(text)
}

export function parseContentId (text: string): Uint8Array {
  if (!isContentId(text)) throw new FileShareError('USAGE', `not a content id: ${text}`)
  return u8FromString(text.slice(ID_PREFIX.length), 'base32')
}
