/**
 * /fileshare/lookup/1.0.0: what a peer asks the master.
 *
 * Wire protocol: one stream per request. The peer writes one LookupRequest (varint length
 * + protobuf, at most MAX_CONTROL_FRAME bytes) of one kind: PROVIDERS (live peers sharing
 * a content id, with their addresses, relay addresses first, and what the index calls the
 * file), SEARCH (word / word-prefix search over paths), NAME (files whose name or whole
 * path is exactly the query) or PEER (a PeerId's current addresses). The master answers
 * one LookupResponse (OK, NOT_FOUND, BAD_REQUEST, RATE_LIMITED or ERROR; at most
 * MAX_LOOKUP_RESPONSE bytes, list lengths bounded on decode) and closes the stream.
 *
 * server.ts is the master's half (a libp2p service: `lookupServer(init)` in
 * `createLibp2p({ services })`), client.ts the peer's half.
 */
import type { PeerId, PeerStore } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { LookupServer as LookupServerClass } from './server.js'
import type { ServerComponents, PeerLimiter } from '../components.js'

export {
  PROTOCOL_LOOKUP, MAX_LOOKUP_RESPONSE, MAX_QUERY_LENGTH, MAX_SEARCH_RESULTS, DEFAULT_SEARCH_RESULTS,
  MAX_PROVIDERS_RETURNED, MAX_ADDRS_PER_PEER
} from './constants.js'
export { LookupClient } from './client.js'

/** One file of the index, grouped by content id, with its live provider count. */
export interface IndexedFile {
  id: Uint8Array
  name: string
  path: string
  size: number
  providers: number
}

/** What the master's index answers (master/index-store.ts). */
export interface LookupStore {
  /** live peers (PeerId strings) that share `id` */
  providers: (id: Uint8Array, limit: number) => string[]
  describe: (id: Uint8Array) => IndexedFile | undefined
  search: (query: string, limit: number) => IndexedFile[]
  findByName: (name: string, limit: number) => IndexedFile[]
}

export interface LookupServerComponents extends ServerComponents {
  peerStore: Pick<PeerStore, 'get'>
  addressManager: { getAddresses: () => Multiaddr[] }
  /** the master's circuit relay server, when it runs one (libp2p passes services as components too) */
  relay?: { reservations: { has: (peer: PeerId) => boolean } }
}

export interface LookupServerInit {
  store: LookupStore
  /** per-peer request budget (master/rate-limiter.ts) */
  limiter: PeerLimiter
  /**
   * a request must arrive and be answered within this time
   *
   * @default REQUEST_TIMEOUT_MS (15 s)
   */
  requestTimeoutMs?: number
}

export interface LookupServer {
  readonly protocol: string
}

/** A search hit as the client returns it (the content id printed). */
export interface SearchResult {
  id: string
  name: string
  path: string
  size: number
  providers: number
}

/** A peer and the addresses to reach it at. */
export interface PeerAddrs {
  peer: PeerId
  addrs: Multiaddr[]
}

export function lookupServer (init: LookupServerInit): (components: LookupServerComponents) => LookupServerClass {
  return (components) => new LookupServerClass(components, init)
}
