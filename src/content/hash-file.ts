/**
 * Streams a file through SHA-256 chunk by chunk (one reused read buffer: node:crypto
 * consumes it synchronously), producing its manifest and content id without ever holding
 * the file in memory.
 */
import { open } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { CHUNK_SIZE, MAX_FILE_SIZE } from './constants.js'
import { FileShareError } from '../errors.js'
import { chunkCount, HASH_BYTES, manifestRoot, type Manifest } from './content-id.js'
import { identityOf, type FileIdentity } from './file-identity.js'

export interface HashedFile {
  id: Uint8Array
  manifest: Manifest
  /** mtime and size observed when hashing started and ended matched */
  mtimeMs: number
  /** the file that was read (device, inode) and its size and mtime while it was read */
  identity: FileIdentity
}

export async function hashFile (path: string, options: { chunkSize?: number, signal?: AbortSignal } = {}): Promise<HashedFile> {
  const chunkSize = options.chunkSize ?? CHUNK_SIZE
  const fh = await open(path, 'r')
  try {
    const before = await fh.stat()
    if (!before.isFile()) throw new FileShareError('IO', `${path}: not a regular file`)
    if (before.size > MAX_FILE_SIZE) throw new FileShareError('IO', `${path}: larger than ${MAX_FILE_SIZE} bytes`)
    const size = before.size
    const chunkHashes = new Uint8Array(chunkCount(size, chunkSize) * HASH_BYTES)
    // no larger than the file: a 1 MiB buffer per small file made a scan of many small files
    // spend most of its time collecting garbage
    const buf = Buffer.allocUnsafe(Math.min(chunkSize, size))
    let offset = 0
    let index = 0
    while (offset < size) {
      options.signal?.throwIfAborted()
      const want = Math.min(chunkSize, size - offset)
      let got = 0
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, offset + got)
        if (bytesRead === 0) throw new FileShareError('IO', `${path}: changed while hashing (shorter than ${size} bytes)`)
        got += bytesRead
      }
      chunkHashes.set(createHash('sha256').update(buf.subarray(0, want)).digest(), index * HASH_BYTES)
      offset += want
      index++
    }
    const after = await fh.stat()
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new FileShareError('IO', `${path}: changed while hashing`)
    }
    const manifest: Manifest = { size, chunkSize, chunkHashes }
    return { id: manifestRoot(manifest), manifest, mtimeMs: after.mtimeMs, identity: identityOf(after) }
  } finally {
    await fh.close()
  }
}
