/**
 * Protocol ids, limits and defaults: every bound of the wire protocols lives here (the
 * download engine's tuning lives in src/peer/download/tuning.ts).
 */

export const PROTOCOL_REGISTER = '/fileshare/register/1.0.0'
export const PROTOCOL_LOOKUP = '/fileshare/lookup/1.0.0'
export const PROTOCOL_FETCH = '/fileshare/fetch/1.0.0'
export const PROTOCOL_DIALBACK = '/fileshare/dialback/1.0.0'

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

/** A file whose size or mtime changed within this time is still being written: not hashed yet. */
export const SHARE_SETTLE_MS = 1_000
/** Quiet time after the last file-system event before the changed paths are rescanned. */
export const SHARE_WATCH_DEBOUNCE_MS = 200
/** Full rescan of the shared folder (catches what fs.watch missed; the only way where it fails). */
export const SHARE_RESCAN_INTERVAL_MS = 60_000
/** Changed paths queued by the watcher beyond which one full rescan is cheaper. */
export const SHARE_MAX_QUEUED_PATHS = 1_000

/** Concurrent fetch streams one sharing peer serves. */
export const DEFAULT_MAX_UPLOADS = 32
/** Inbound streams per connection and protocol. */
export const MAX_INBOUND_STREAMS = 32

/* Reachability (relay reservations, dial-back, direct upgrades) */
/** Addresses one dial-back request may ask the master to try. */
export const MAX_DIALBACK_ADDRS = 8
/** How long the master tries to reach one address of a dial-back request. */
export const DIALBACK_DIAL_TIMEOUT_MS = 5_000
/** Retry bounds (exponential backoff) for what a peer asks of the master: registration, dial-back checks, relay reservations. */
export const MASTER_RETRY_MIN_MS = 500
export const MASTER_RETRY_MAX_MS = 30_000
/** How long a peer waits for the master to list its new relayed address before it reports 'relayed' anyway. */
export const RELAY_ADDR_CONFIRM_MS = 5_000
/** How long `peer.js --share` waits for a reachability verdict before printing `ready`. */
export const REACHABILITY_SETTLE_MS = 10_000
/** How long an attempt to move a relayed connection to a direct one may take. */
export const DIRECT_UPGRADE_TIMEOUT_MS = 5_000
