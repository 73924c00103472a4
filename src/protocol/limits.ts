/**
 * Protocol ids, limits and defaults: every bound of the wire protocols lives here.
 */

export const PROTOCOL_REGISTER = '/fileshare/register/1.0.0'
export const PROTOCOL_LOOKUP = '/fileshare/lookup/1.0.0'
export const PROTOCOL_FETCH = '/fileshare/fetch/1.0.0'

const KiB = 1024
const MiB = 1024 * KiB

/** Bytes per chunk: every chunk is verified on arrival against its SHA-256. */
export const CHUNK_SIZE = 1 * MiB
/** Largest file a manifest may describe (its chunk hash list stays ≤ 8 MiB). */
export const MAX_CHUNKS = 256 * 1024
export const MAX_FILE_SIZE = MAX_CHUNKS * CHUNK_SIZE
/** Largest encoded manifest: the chunk hashes plus a few header bytes. */
export const MAX_MANIFEST_BYTES = MAX_CHUNKS * 32 + 64

/** Largest control frame (requests and response headers) on any stream. */
export const MAX_CONTROL_FRAME = 64 * KiB
/** Largest register request: one batch of up to REGISTER_BATCH files. */
export const MAX_REGISTER_FRAME = 1 * MiB
export const REGISTER_BATCH = 1000
/** Largest lookup response (search hits, provider lists). */
export const MAX_LOOKUP_RESPONSE = 1 * MiB

export const MAX_PATH_LENGTH = 1024
export const MAX_NAME_LENGTH = 255
export const MAX_QUERY_LENGTH = 256
export const MAX_QUERY_WORDS = 8
export const MAX_SEARCH_RESULTS = 100
export const DEFAULT_SEARCH_RESULTS = 50
export const MAX_PROVIDERS_RETURNED = 50
export const MAX_ADDRS_PER_PEER = 16
export const MAX_NAME_MATCHES = 100

/** Files the master indexes per peer. */
export const MAX_FILES_PER_PEER = 100_000
/** Requests a peer may make per second on each master protocol (token bucket). */
export const MASTER_REQUESTS_PER_SECOND = 50
export const MASTER_REQUEST_BURST = 200

/** A stream that sees no request or no reply within this time is aborted. */
export const STREAM_IDLE_TIMEOUT_MS = 30_000
/** Request/response protocols (register, lookup) must complete within this time. */
export const REQUEST_TIMEOUT_MS = 15_000
/** A provider that delivers no byte of an outstanding chunk for this long is dropped. */
export const CHUNK_STALL_TIMEOUT_MS = 20_000
/** How long a provider's records stay live after its last connection closed. */
export const PROVIDER_GRACE_MS = 10_000

/** Chunk requests in flight per provider on one fetch stream (16 measured faster than 8 and 32 on loopback). */
export const DEFAULT_REQUESTS_IN_FLIGHT = 16
/** Concurrent fetch streams one sharing peer serves. */
export const DEFAULT_MAX_UPLOADS = 32
/** Inbound streams per connection and protocol. */
export const MAX_INBOUND_STREAMS = 32

/** Progress events are emitted at least this often while data arrives. */
export const PROGRESS_INTERVAL_MS = 250
