/** Hole-punch timings (node/hole-punch.ts); no package imports, so defaults.ts can use them before libp2p loads. */

/** How long A's dial of B's punched address may take. */
export const PUNCH_DIAL_TIMEOUT_MS = 4_000
/** How long B keeps a punch listener that nothing connected to. */
export const PUNCH_LISTEN_MS = 10_000
/** After a failed punch, one retry this much later. */
export const PUNCH_RETRY_MS = 2_000
/** After a punch to a peer failed (and its retry), new relayed connections to it are not punched for this long (a symmetric NAT stays one). */
export const PUNCH_FAILED_BACKOFF_MS = 60_000
/** How long a new download waits for a punch before it starts on the relay (config holePunchWaitMs). */
export const PUNCH_WAIT_MS = 1_500
