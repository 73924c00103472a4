/**
 * /fileshare/lookup/1.0.0: what a peer asks the master.
 *
 * Wire protocol: one stream per request. The peer writes one LookupRequest (varint length
 * + protobuf, at most MAX_CONTROL_FRAME bytes) of one kind: PROVIDERS (a varied sample of
 * the live peers sharing a content id, minus the ones the asker excludes, with the
 * addresses the master verified or observed, relay addresses first, and what the index
 * calls the file; see sample.ts), SEARCH (word / word-prefix search over paths), NAME (files whose name or whole
 * path is exactly the query) or PEER (a PeerId's current addresses). The master answers
 * one LookupResponse (OK, NOT_FOUND, BAD_REQUEST, RATE_LIMITED or ERROR; at most
 * MAX_LOOKUP_RESPONSE bytes, list lengths bounded on decode) and closes the stream.
 *
 * server.ts is the master's half (a libp2p service: `lookupServer(init)` in
 * `createLibp2p({ services })`), client.ts the peer's half.
 */
import type { LookupRequest, LookupResponse } from './pb/lookup.js'
import { LookupServer as LookupServerClass, type LookupServerInit, type LookupServerComponents } from './server.js'

import type { Startable } from '@libp2p/interface'

export {
  PROTOCOL_LOOKUP, MAX_LOOKUP_RESPONSE, MAX_QUERY_LENGTH, MAX_SEARCH_RESULTS, DEFAULT_SEARCH_RESULTS,
  MAX_PROVIDERS_RETURNED, MAX_ADDRS_PER_PEER, DEFAULT_PROVIDERS_RETURNED, MAX_ADDRS_RETURNED, MAX_EXCLUDED
} from './constants.js'
export { LookupClient, type SearchResult, type PeerAddrs } from './client.js'
export type { LookupServerInit, LookupServerComponents, LookupStore, IndexedFile, ProviderCandidate, VerifiedAddresses } from './server.js'
export { sampleProviders, ipPrefix, type RankedProvider } from './sample.js'

/** The master's lookup service (started and stopped with the node). */
export interface LookupServer extends Startable {
  readonly protocol: string
  /** the answer to one request of `from` (a PeerId string) */
  answer: (from: string, request: LookupRequest) => Promise<LookupResponse>
}

export function lookupServer (init: LookupServerInit): (components: LookupServerComponents) => LookupServer {
  return (components) => new LookupServerClass(components, init)
}
