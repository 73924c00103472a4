/**
 * Content bounds: how files are cut into chunks and how large a file (and so its manifest)
 * may be. Every protocol and the hashing code share them.
 */

const KiB = 1024
const MiB = 1024 * KiB

/** Bytes per chunk: every chunk is verified on arrival against its SHA-256. */
export const CHUNK_SIZE = 1 * MiB
/** Largest file a manifest may describe (its chunk hash list stays ≤ 8 MiB). */
export const MAX_CHUNKS = 256 * 1024
export const MAX_FILE_SIZE = MAX_CHUNKS * CHUNK_SIZE
/** Largest encoded manifest: the chunk hashes plus a few header bytes. */
export const MAX_MANIFEST_BYTES = MAX_CHUNKS * 32 + 64
