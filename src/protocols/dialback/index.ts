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
import type { Connection, AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { DialBackServer as DialBackServerClass } from './server.js'
import type { ServerComponents } from '../components.js'

export { PROTOCOL_DIALBACK, MAX_DIALBACK_ADDRS, DIALBACK_DIAL_TIMEOUT_MS } from './constants.js'
export { DialBackClient } from './client.js'

export interface DialBackServerComponents extends ServerComponents {
  connectionManager: {
    openConnection: (addr: Multiaddr, options?: AbortOptions & { force?: boolean, priority?: number }) => Promise<Connection>
  }
}

export interface DialBackServerInit {
  /**
   * dial-back checks one peer may ask for per minute
   *
   * @default DIALBACK_CHECKS_PER_MINUTE (10)
   */
  checksPerMinute?: number
}

export interface DialBackServer {
  readonly protocol: string
}

export interface DialBackResult {
  /** the addresses the master reached on a new connection */
  reachable: Multiaddr[]
  /** the address the master sees our request come from */
  observed: Multiaddr | null
}

export function dialBackServer (init: DialBackServerInit = {}): (components: DialBackServerComponents) => DialBackServerClass {
  return (components) => new DialBackServerClass(components, init)
}
