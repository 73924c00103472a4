/**
 * A peer's timing towards the master: retry bounds for registration, dial-back checks
 * and relay reservations, and how long reachability may take to settle.
 */

/** Retry bounds (exponential backoff) for what a peer asks of the master: registration, dial-back checks, relay reservations. */
export const MASTER_RETRY_MIN_MS = 500
export const MASTER_RETRY_MAX_MS = 30_000
/** How long a peer waits for the master to list its new relayed address before it reports 'relayed' anyway. */
export const RELAY_ADDR_CONFIRM_MS = 5_000
/** How long `peer.js --share` waits for a reachability verdict before printing `ready`. */
export const REACHABILITY_SETTLE_MS = 10_000
/** How long an attempt to move a relayed connection to a direct one may take. */
export const DIRECT_UPGRADE_TIMEOUT_MS = 5_000
