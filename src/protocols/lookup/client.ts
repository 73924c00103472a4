/**
 * /fileshare/lookup/1.0.0, the peer's side (the protocol is described in index.ts):
 * providers of a content id, search, exact name, a peer's addresses.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { LookupRequest, LookupResponse, type PeerInfo, type SearchHit } from './pb/lookup.js'
import { PROTOCOL_LOOKUP, MAX_LOOKUP_RESPONSE, MAX_SEARCH_RESULTS, MAX_PROVIDERS_RETURNED, MAX_ADDRS_PER_PEER, DEFAULT_PROVIDERS_RETURNED, MAX_EXCLUDED } from './constants.js'
import type { MasterLink } from '../master-link.js'
import { parseAddrs } from '../../node/addresses.js'
import { FileShareError } from '../../errors.js'
import { formatContentId } from '../../content/content-id.js'

/** A search hit as the client returns it (the content id printed). */
export interface SearchResult {
  id: string
  name: string
  path: string
  size: number
  /** live providers */
  providers: number
  /** of them, those with a complete copy (the others are downloading it: partial) */
  seeders: number
}

/** A peer and the addresses to reach it at. */
export interface PeerAddrs {
  peer: PeerId
  addrs: Multiaddr[]
  /** a partial provider (a download in progress): ask it which chunks it has */
  partial?: boolean
}

export class LookupClient {
  constructor (private readonly link: MasterLink) {}

  /**
   * A sample of the live providers of `id` (none of `exclude`: providers already tried; the
   * most recent MAX_EXCLUDED are sent), and what the index calls it (when a live peer shares it).
   */
  async providers (id: Uint8Array, exclude: PeerId[] = []): Promise<{ providers: PeerAddrs[], file?: SearchResult }> {
    const res = await this.lookup({
      kind: LookupRequest.Kind.PROVIDERS, id, query: '', peer: new Uint8Array(0), limit: DEFAULT_PROVIDERS_RETURNED,
      exclude: exclude.slice(-MAX_EXCLUDED).map(p => p.toMultihash().bytes)
    })
    if (res.status === LookupResponse.Status.NOT_FOUND) return { providers: [] }
    return { providers: res.providers.map(toPeerAddrs), file: res.hits.map(toSearchResult)[0] }
  }

  async search (query: string, limit = MAX_SEARCH_RESULTS): Promise<SearchResult[]> {
    const res = await this.lookup({ kind: LookupRequest.Kind.SEARCH, id: new Uint8Array(0), query, peer: new Uint8Array(0), limit, exclude: [] })
    return res.hits.map(toSearchResult)
  }

  async findByName (name: string): Promise<SearchResult[]> {
    const res = await this.lookup({ kind: LookupRequest.Kind.NAME, id: new Uint8Array(0), query: name, peer: new Uint8Array(0), limit: MAX_SEARCH_RESULTS, exclude: [] })
    return res.hits.map(toSearchResult)
  }

  /** The current addresses of `peer` as the master knows them ("connect to a peer"). */
  async peerAddrs (peer: PeerId): Promise<Multiaddr[]> {
    const res = await this.lookup({ kind: LookupRequest.Kind.PEER, id: new Uint8Array(0), query: '', peer: peer.toMultihash().bytes, limit: 0, exclude: [] })
    if (res.status === LookupResponse.Status.NOT_FOUND || res.peer == null) return []
    return toPeerAddrs(res.peer).addrs
  }

  private async lookup (request: LookupRequest): Promise<LookupResponse> {
    const res = await this.link.call<LookupRequest, LookupResponse>(PROTOCOL_LOOKUP, request, LookupRequest, LookupResponse, {
      maxResponseBytes: MAX_LOOKUP_RESPONSE,
      decodeLimits: {
        providers: MAX_PROVIDERS_RETURNED,
        'providers$': { addrs: MAX_ADDRS_PER_PEER },
        hits: MAX_SEARCH_RESULTS,
        peer: { addrs: MAX_ADDRS_PER_PEER }
      }
    })
    if (res.status === LookupResponse.Status.OK || res.status === LookupResponse.Status.NOT_FOUND) return res
    throw new FileShareError(res.status === LookupResponse.Status.RATE_LIMITED ? 'RATE_LIMITED' : 'PROTOCOL', `master answered ${res.status}: ${res.message}`)
  }
}

function toSearchResult (h: SearchHit): SearchResult {
  return { id: formatContentId(h.id), name: h.name, path: h.path, size: h.size, providers: h.providers, seeders: h.seeders ?? h.providers }
}

function toPeerAddrs (info: PeerInfo): PeerAddrs {
  return { peer: peerIdFromMultihash(Digest.decode(info.peer)), addrs: parseAddrs(info.addrs), partial: info.partial }
}

