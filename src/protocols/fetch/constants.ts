/**
 * /fileshare/fetch/1.0.0: protocol id, wire bounds and the provider's defaults.
 */

export const PROTOCOL_FETCH = '/fileshare/fetch/1.0.0'
/** Matches one RESOLVE answer lists. */
export const MAX_NAME_MATCHES = 100
/** A stream that sees no request (provider) or no reply (downloader) within this time is closed. */
export const STREAM_IDLE_TIMEOUT_MS = 30_000
/** A provider that delivers no byte of an outstanding chunk for this long is dropped. */
export const CHUNK_STALL_TIMEOUT_MS = 20_000
/** Concurrent fetch streams one sharing peer serves; more get BUSY. */
export const DEFAULT_MAX_UPLOADS = 32
/** A provider that answered BUSY is asked again after this long, doubling up to BUSY_RETRY_MAX_MS. */
export const BUSY_RETRY_MS = 1_000
export const BUSY_RETRY_MAX_MS = 8_000
