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

/**
 * Issue 10, "hold the open internet": the master's limits. Per-IP values are sized for NAT
 * (a household or a campus shares one public IP); see SECURITY.md.
 */
/** Records the whole index may hold. */
export const MAX_RECORDS = 2_000_000
/** Records the peers registering from one IP address may hold together (5 peers at the per-peer cap). */
export const MAX_RECORDS_PER_IP = 500_000
/** Size of the index file past which registrations are refused (STORAGE_FULL), bytes. */
export const MAX_INDEX_BYTES = 4 * 1024 ** 3
/** Records of a peer not seen (not live) for this long are deleted, ms (7 days; 0 = never). */
export const PRUNE_AFTER_MS = 7 * 24 * 3600_000
/** Inbound connections from one IP address at once. */
export const MAX_CONNECTIONS_PER_IP = 512
/** Inbound connections of one PeerId at once (one key cannot take its IP's share; a peer needs one or two). */
export const MAX_CONNECTIONS_PER_PEER = 8
/** New inbound connections accepted per second from one IP address: fills the per-IP cap in ≈ 8 s. */
export const CONNECTIONS_PER_IP_PER_SECOND = 64
/** An inbound connection that registers, looks up, asks a dial-back or reserves nothing within this long is closed, ms. */
export const IDLE_CONNECTION_MS = 30_000
/** The peer store forgets a peer with no connection and no index row this long after its last connection closed, ms. */
export const PEER_STORE_FORGET_MS = 2_000
/** The master's peer store is swept for such peers this often, ms. */
export const PEER_STORE_SWEEP_MS = 60_000
/** Relay reservations held from one IP address at once. */
export const RESERVATIONS_PER_IP = 64
/** A peer asking for a relay slot before its first registration arrived gets this long to register, ms. */
export const RESERVATION_REGISTRATION_WAIT_MS = 5_000
/**
 * Requests per second on each master protocol from one IP address, whatever the keys (a
 * household or a campus behind one NAT: hundreds of peers asking now and then stay far below).
 */
export const REQUESTS_PER_IP_PER_SECOND = 200
export const REQUEST_BURST_PER_IP = 400
/**
 * The index lane (index-lane.ts): ms of CPU time of index work (register writes, searches)
 * one IP earns per second and may bank. 125 ms/s lets one IP register ≈ 500 records a
 * second of the flood bench's long random names (≈ 0.25 ms a record with the word index),
 * more of real names (a 100 000-file share in 2–3 minutes), and takes an eighth of a core at
 * most: at 250 ms/s one flooding IP alone kept the master's loop too busy for lookups under
 * 100 ms (BENCHMARKS.md, the flood bench).
 */
export const INDEX_MS_PER_IP_PER_SECOND = 125
export const INDEX_BURST_MS_PER_IP = 1_000
/**
 * Share of the event loop the index lane may take while it has work (lookups and handshakes
 * keep the rest). It binds when many IPs register at once, e.g. every peer re-registering
 * after a master restart: about 1 000–2 500 records a second in all then.
 */
export const INDEX_DUTY_PERCENT = 25
/** Requests waiting in the index lane: per key, per IP, in all (beyond: RATE_LIMITED). */
export const INDEX_QUEUED_PER_KEY = 8
export const INDEX_QUEUED_PER_IP = 64
export const INDEX_QUEUED = 1_024
/** A request that would wait in the index lane longer than this (estimated) is refused (RATE_LIMITED), ms. */
export const INDEX_MAX_WAIT_MS = 3_000
/**
 * RATE_LIMITED answers one key may get in a row (it earns one back a second) before the
 * master stops reading its connections for REFUSAL_PAUSE_MS (refusal-penalty.ts): each
 * refused request still costs a stream and several encrypted frames. An honest client backs
 * off after RATE_LIMITED and never gets here.
 */
export const REFUSALS_BEFORE_PAUSE = 5
/** The first pause of such a key's connections, ms (doubling, up to 16 times, while it keeps on). */
export const REFUSAL_PAUSE_MS = 2_000
