/**
 * /fileshare/dialback/1.0.0: protocol id, wire bounds and the master's limits.
 */

export const PROTOCOL_DIALBACK = '/fileshare/dialback/1.0.0'
/** Addresses one dial-back request may ask the master to try. */
export const MAX_DIALBACK_ADDRS = 8
/** How long the master tries to reach one address of a dial-back request. */
export const DIALBACK_DIAL_TIMEOUT_MS = 5_000
/** Dial-back checks one peer may ask for per minute: each one costs the master outbound dials. */
export const DIALBACK_CHECKS_PER_MINUTE = 10
/**
 * … and to one remote IP, whatever the keys (config `dialBackPerIpPerMinute`): a peer checks
 * once at start and then on backoff (0.5 s … 30 s) only while unreachable, so 60 lets dozens
 * of peers behind one NAT start within a minute while a stranger minting keys gets 1 per second.
 */
export const DIALBACK_PER_IP_PER_MINUTE = 60
