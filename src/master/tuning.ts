/**
 * The master's tuning: quotas, rate limits and timing (not wire bounds; those sit in
 * src/protocols/). Every value can be overridden through createMaster's options.
 */

/** Files the master indexes per peer. */
export const MAX_FILES_PER_PEER = 100_000
/** Requests a peer may make per second on each master protocol (token bucket). */
export const MASTER_REQUESTS_PER_SECOND = 50
export const MASTER_REQUEST_BURST = 200
/** How long a provider's records stay live after its last connection closed. */
export const PROVIDER_GRACE_MS = 10_000
/** Words of a search query that count (the rest are ignored). */
export const MAX_QUERY_WORDS = 8
