/**
 * The peer's side of the master protocols: lookups (providers, search, exact name, a
 * peer's addresses) and registration of the shared catalog.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import { LookupRequest, LookupResponse, type PeerInfo, type SearchHit } from '../protocol/pb/lookup.js'
import { RegisterRequest, RegisterResponse, type SharedFile } from '../protocol/pb/register.js'
import { DialBackRequest, DialBackResponse } from '../protocol/pb/reachability.js'
import {
  PROTOCOL_LOOKUP, PROTOCOL_REGISTER, PROTOCOL_DIALBACK, MAX_DIALBACK_ADDRS, MAX_LOOKUP_RESPONSE, REQUEST_TIMEOUT_MS, MAX_SEARCH_RESULTS,
  MAX_PROVIDERS_RETURNED, MAX_ADDRS_PER_PEER, MAX_CONTROL_FRAME
} from '../protocol/limits.js'
import { exchange, type Codec } from '../protocol/stream-io.js'
import { FileShareError, toFileShareError } from '../errors.js'
import { formatContentId } from '../content/content-id.js'
import type { FileShareNode } from '../node/create-node.js'
import type { ProviderRef } from './download/types.js'

export interface SearchResult {
  id: string
  name: string
  path: string
  size: number
  providers: number
}

export class MasterClient {
  readonly peer: PeerId

  constructor (private readonly node: FileShareNode, readonly addr: Multiaddr) {
    const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
    if (id == null) throw new FileShareError('USAGE', `master address ${addr.toString()} must end with /p2p/<PeerId>`)
    this.peer = this.node.peerId.toString() === id ? this.node.peerId : peerIdFromString(id)
  }

  /** Live providers of `id`, and what the index calls it (when a live peer shares it). */
  async providers (id: Uint8Array): Promise<{ providers: ProviderRef[], file?: SearchResult }> {
    const res = await this.lookup({ kind: LookupRequest.Kind.PROVIDERS, id, query: '', peer: new Uint8Array(0), limit: MAX_PROVIDERS_RETURNED })
    if (res.status === LookupResponse.Status.NOT_FOUND) return { providers: [] }
    return { providers: res.providers.map(toProviderRef), file: res.hits.map(toSearchResult)[0] }
  }

  async search (query: string, limit = MAX_SEARCH_RESULTS): Promise<SearchResult[]> {
    const res = await this.lookup({ kind: LookupRequest.Kind.SEARCH, id: new Uint8Array(0), query, peer: new Uint8Array(0), limit })
    return res.hits.map(toSearchResult)
  }

  async findByName (name: string): Promise<SearchResult[]> {
    const res = await this.lookup({ kind: LookupRequest.Kind.NAME, id: new Uint8Array(0), query: name, peer: new Uint8Array(0), limit: MAX_SEARCH_RESULTS })
    return res.hits.map(toSearchResult)
  }

  /** The current addresses of `peer` as the master knows them ("connect to a peer"). */
  async peerAddrs (peer: PeerId): Promise<Multiaddr[]> {
    const res = await this.lookup({ kind: LookupRequest.Kind.PEER, id: new Uint8Array(0), query: '', peer: peer.toMultihash().bytes, limit: 0 })
    if (res.status === LookupResponse.Status.NOT_FOUND || res.peer == null) return []
    return toProviderRef(res.peer).addrs
  }

  /** `signal` replaces the usual REQUEST_TIMEOUT_MS (a stopping peer waits less). */
  async register (request: RegisterRequest, signal?: AbortSignal): Promise<RegisterResponse> {
    const res = await this.call<RegisterRequest, RegisterResponse>(PROTOCOL_REGISTER, request, RegisterRequest, RegisterResponse, MAX_CONTROL_FRAME, undefined, signal)
    if (res.status !== RegisterResponse.Status.OK) {
      throw new FileShareError(registerErrorCode(res.status), `master refused registration: ${res.status} ${res.message}`)
    }
    return res
  }

  /** Asks the master to dial `addrs` back on new connections: the ones it reached, and how it sees us. */
  async dialBack (addrs: Multiaddr[]): Promise<{ reachable: Multiaddr[], observed: Multiaddr | null }> {
    const res = await this.call<DialBackRequest, DialBackResponse>(PROTOCOL_DIALBACK, { addrs: addrs.slice(0, MAX_DIALBACK_ADDRS).map(a => a.bytes) },
      DialBackRequest, DialBackResponse, MAX_CONTROL_FRAME, { reachable: MAX_DIALBACK_ADDRS })
    if (res.status !== DialBackResponse.Status.OK) {
      throw new FileShareError(res.status === DialBackResponse.Status.RATE_LIMITED ? 'RATE_LIMITED' : 'PROTOCOL', `master refused the dial-back: ${res.status} ${res.message}`)
    }
    return {
      reachable: parseAddrs(res.reachable),
      observed: res.observed.length > 0 ? parseAddrs([res.observed])[0] ?? null : null
    }
  }

  private async lookup (request: LookupRequest): Promise<LookupResponse> {
    const res = await this.call<LookupRequest, LookupResponse>(PROTOCOL_LOOKUP, request, LookupRequest, LookupResponse, MAX_LOOKUP_RESPONSE, {
      providers: MAX_PROVIDERS_RETURNED,
      'providers$': { addrs: MAX_ADDRS_PER_PEER },
      hits: MAX_SEARCH_RESULTS,
      peer: { addrs: MAX_ADDRS_PER_PEER }
    })
    if (res.status === LookupResponse.Status.OK || res.status === LookupResponse.Status.NOT_FOUND) return res
    throw new FileShareError(res.status === LookupResponse.Status.RATE_LIMITED ? 'RATE_LIMITED' : 'PROTOCOL', `master answered ${res.status}: ${res.message}`)
  }

  private async call<Req, Res> (protocol: string, request: Req, reqCodec: Codec<Req>, resCodec: Codec<Res>, maxResponseBytes: number,
    decodeLimits?: Record<string, any>, signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)): Promise<Res> {
    try {
      await this.node.peerStore.merge(this.peer, { multiaddrs: [this.addr] })
      const stream = await this.node.dialProtocol(this.peer, protocol, { signal, runOnLimitedConnection: true })
      return await exchange<Req, Res>(stream, request, reqCodec, resCodec, { signal, maxResponseBytes, decodeLimits })
    } catch (err) {
      const e = toFileShareError(err, 'NETWORK')
      if (e.code === 'NETWORK' || e.code === 'INTERNAL') {
        throw new FileShareError('NETWORK', `master ${this.addr.toString()} unreachable: ${e.message}`, { cause: err })
      }
      throw e
    }
  }
}

function registerErrorCode (status: RegisterResponse.Status): 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'PROTOCOL' {
  if (status === RegisterResponse.Status.RATE_LIMITED) return 'RATE_LIMITED'
  if (status === RegisterResponse.Status.QUOTA_EXCEEDED) return 'QUOTA_EXCEEDED'
  return 'PROTOCOL'
}

function toSearchResult (h: SearchHit): SearchResult {
  return { id: formatContentId(h.id), name: h.name, path: h.path, size: h.size, providers: h.providers }
}

function toProviderRef (info: PeerInfo): ProviderRef {
  return { peer: peerIdFromMultihash(Digest.decode(info.peer)), addrs: parseAddrs(info.addrs) }
}

/** The addresses that parse (a peer's garbage is skipped, not fatal). */
function parseAddrs (list: Uint8Array[]): Multiaddr[] {
  const addrs: Multiaddr[] = []
  for (const bytes of list) {
    try { addrs.push(multiaddr(bytes)) } catch {}
  }
  return addrs
}

export type { SharedFile }
