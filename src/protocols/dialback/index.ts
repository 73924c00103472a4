/**
 * /fileshare/dialback/1.0.0: tells a peer whether it is publicly reachable.
 *
 * Wire protocol: one stream per request, over a direct connection to the master. The peer
 * writes one DialBackRequest listing its plain TCP listen addresses (at most
 * MAX_DIALBACK_ADDRS); the master dials, on a new connection, each one whose IP is the IP
 * the request came from (never a third host, never through a relay), within
 * DIALBACK_DIAL_TIMEOUT_MS each, and answers one DialBackResponse: OK with the addresses
 * it reached and the address it sees the request come from, or BAD_REQUEST, RATE_LIMITED
 * (DIALBACK_CHECKS_PER_MINUTE per peer, one at a time) or ERROR. A peer no address of
 * which was reached is behind a NAT or a firewall and reserves a relay slot instead
 * (peer/reachability.ts).
 *
 * server.ts is the master's half (a libp2p service: `dialBackServer(init)` in
 * `createLibp2p({ services })`), client.ts the peer's half.
 */
import { DialBackServer as DialBackServerClass, type DialBackServerInit, type DialBackServerComponents } from './server.js'

import type { Startable } from '@libp2p/interface'

export { PROTOCOL_DIALBACK, MAX_DIALBACK_ADDRS, DIALBACK_DIAL_TIMEOUT_MS } from './constants.js'
export { DialBackClient, type DialBackResult } from './client.js'
export type { DialBackServerInit, DialBackServerComponents } from './server.js'

/** The master's dial-back service (started and stopped with the node). */
export interface DialBackServer extends Startable {
  readonly protocol: string
}

export function dialBackServer (init: DialBackServerInit = {}): (components: DialBackServerComponents) => DialBackServer {
  return (components) => new DialBackServerClass(components, init)
}
