/**
 * Download tuning (not wire bounds): requests in flight, endgame, provider refresh and
 * retries, progress and flush intervals. Measurements behind the values: BENCHMARKS.md.
 */

const MiB = 1024 * 1024

/** Chunk requests in flight per provider on one fetch stream (16 measured faster than 8 and 32 on loopback). */
export const DEFAULT_REQUESTS_IN_FLIGHT = 16
/** Progress events are emitted at least this often while data arrives. */
export const PROGRESS_INTERVAL_MS = 250
/** Swarm downloads (issue 4). Depth per provider adapts to its measured speed within these bounds. */
export const MIN_REQUESTS_IN_FLIGHT = 2
/** A provider's depth starts here (at most the configured requestsInFlight) until its speed is known. */
export const INITIAL_REQUESTS_IN_FLIGHT = 2
/** Depth aims at this much queued work per provider: slow providers then hold few chunks at the end. */
export const DEPTH_TARGET_MS = 500
/** Endgame: duplicate requests buffer their chunk in memory, at most this many bytes per download. */
export const ENDGAME_BUFFER_BYTES = 8 * MiB
/** Endgame: copies of one chunk in flight at once. */
export const ENDGAME_MAX_COPIES = 2
/** Endgame: a provider that completed no chunk for this long counts as stalled (its chunks are copied first). */
export const ENDGAME_STALE_MS = 1_000
/**
 * … but while chunks still wait to be asked for (a partial provider that holds none of
 * them), only a holder that finished nothing for this long: in a flash crowd copies made
 * on ENDGAME_STALE_MS were ≈ 45 per downloader of a 64-chunk file (flash-crowd bench).
 */
export const ENDGAME_STALLED_MS = 5_000
/** While downloading through a master, ask it for providers this often. */
export const PROVIDER_REFRESH_MS = 3_000
/**
 * … but every PROVIDER_REFRESH_EARLY_MS during the first PROVIDER_REFRESH_EARLY_SPAN_MS: in
 * a flash crowd the other downloaders become partial providers within a second or two,
 * and each second they are not known the seeder sends chunks twice (flash-crowd bench).
 */
export const PROVIDER_REFRESH_EARLY_MS = 1_000
export const PROVIDER_REFRESH_EARLY_SPAN_MS = 10_000
/** A provider dropped for a network failure or BUSY may be tried again after this long (liars never). */
export const PROVIDER_RETRY_MS = 10_000
/**
 * Partial providers (other downloaders) one download works with at once (BitTorrent keeps
 * a few dozen peers per torrent; each one here is a connection, a HAVE feed and a share of
 * the split of the seeders' work): enough to trade, bounded for a large crowd.
 */
export const MAX_PARTIAL_PROVIDERS = 12
/** … a partial provider (another downloader) after this long. */
export const PARTIAL_PROVIDER_RETRY_MS = 2_000
/** A provider whose connection dropped (a relay limit, a restart) is re-dialled at most this many times in a row without a verified chunk in between. */
export const PROVIDER_REDIALS = 3
/** A provider that keeps answering BUSY is asked at most this many times per download (≈ 45 s in all; delays: BUSY_RETRY_MS in protocols/fetch) before it counts as gone. */
export const BUSY_MAX_RETRIES = 8
/** The resume state beside a part file is rewritten at most this often. */
export const RESUME_STATE_INTERVAL_MS = 500
/**
 * A part file is flushed to disk (fdatasync, in the background) each time this much more
 * has been written, so that the fsync before the file gets its name has little left to
 * wait for: on a 1 GiB get that fsync alone took ≈ 0.5 s (BENCHMARKS.md).
 */
export const PART_FLUSH_BYTES = 64 * MiB
/** A provider's speed is measured over this window (at least RATE_MIN_SPAN_MS long). */
export const RATE_WINDOW_MS = 2_000
export const RATE_MIN_SPAN_MS = 250
/** A direct dial to a provider gets this long before the relayed address is tried. */
export const DIRECT_DIAL_TIMEOUT_MS = 4_000
/**
 * Addresses of one provider dialled, direct and relayed each: a lookup answer is bounded by
 * the master, a `--from` or stale peer-store entry by this (a provider's address list must
 * not make one get dial a host a hundred times).
 */
export const MAX_DIALS_PER_PROVIDER = 4
/**
 * When every provider of a lookup failed before the manifest (unreachable, NOT_FOUND, a
 * Sybil key), the master is asked for others, excluding those tried, at most this many
 * times (each round dials its providers at once and costs at most one dial timeout).
 */
export const PROVIDER_ROUNDS = 25
/**
 * Swarming: when no provider left holds a chunk still missing (partial providers only, none
 * has it, nothing in flight), the download waits this long for a HAVE or a new provider,
 * then fails with NO_PROVIDER (as long as a provider that delivers nothing: CHUNK_STALL_TIMEOUT_MS).
 */
export const MISSING_CHUNKS_TIMEOUT_MS = 20_000
