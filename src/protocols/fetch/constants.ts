/**
 * /fileshare/fetch/1.0.0: protocol id, wire bounds and the provider's defaults.
 */

export const PROTOCOL_FETCH = '/fileshare/fetch/1.0.0'
/** Matches one RESOLVE answer lists. */
export const MAX_NAME_MATCHES = 100
/** Entries of one LIST page (a page is at most about 100 × (path + id) bytes). */
export const MAX_LIST_PAGE = 100
/**
 * A stream that sees no request (provider) or no reply (downloader) within this time is
 * closed; so is a provider's stream whose reader takes no data for this long (no 'drain').
 */
export const STREAM_IDLE_TIMEOUT_MS = 30_000
/** A provider that delivers no byte of an outstanding chunk for this long is dropped. */
export const CHUNK_STALL_TIMEOUT_MS = 20_000
/** Upload slots (fetch streams sending data at once) of one sharing peer; a request beyond them gets BUSY. */
export const DEFAULT_MAX_UPLOADS = 32
/**
 * Upload slots one PeerId may hold: a downloader uses one stream per provider (two while
 * it moves from a relayed to a direct connection).
 */
export const DEFAULT_MAX_UPLOADS_PER_PEER = 2
/**
 * Upload slots one remote IP (IPv6: one /64) may hold, whatever the keys: a household or
 * a campus behind one NAT shares it; slots are held only while data is being sent.
 */
export const DEFAULT_MAX_UPLOADS_PER_IP = 8
/**
 * A stream keeps its upload slot this long after its last answer left (write buffer empty)
 * while no new request arrives: a pipelining downloader does not lose it between requests.
 */
export const UPLOAD_SLOT_LINGER_MS = 500
/** A provider that answered BUSY is asked again after this long, doubling up to BUSY_RETRY_MAX_MS. */
export const BUSY_RETRY_MS = 1_000
export const BUSY_RETRY_MAX_MS = 8_000
/** Content ids one fetch stream may follow with HAVE (a download follows one). */
export const MAX_HAVE_SUBSCRIPTIONS = 4
/** Chunk indexes in one HAVE frame (a provider batches what it verified meanwhile). */
export const MAX_HAVES_PER_FRAME = 1024
/**
 * A downloader with nothing to ask a partial provider repeats its HAVE request this often
 * (the answer resynchronises the bitfield and keeps the provider from closing the stream as idle).
 */
export const HAVE_KEEPALIVE_MS = 10_000
