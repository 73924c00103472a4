/**
 * /fileshare/lookup/1.0.0, the master's side (the protocol is described in index.ts).
 */
import type { Connection, PeerId, Stream, Startable } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { LookupRequest, LookupResponse, type PeerInfo, type SearchHit as WireHit } from './pb/lookup.js'
import {
  PROTOCOL_LOOKUP, MAX_SEARCH_RESULTS, DEFAULT_SEARCH_RESULTS, MAX_PROVIDERS_RETURNED, MAX_ADDRS_PER_PEER, MAX_QUERY_LENGTH
} from './constants.js'
import { MAX_CONTROL_FRAME, REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS } from '../constants.js'
import { serveExchange } from '../stream-io.js'
import { ID_BYTES } from '../../content/content-id.js'
import type { PeerStore } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ServerComponents, PeerLimiter } from '../components.js'

const { Status } = LookupResponse

/** One file of the index, grouped by content id, with its live provider count. */
export interface IndexedFile {
  id: Uint8Array
  name: string
  path: string
  size: number
  providers: number
  /** of `providers`, those with a complete copy (default: all) */
  seeders?: number
}

/** What the master's index answers (master/index-store.ts). */
export interface LookupStore {
  /** live peers (PeerId strings) that share `id` */
  providers: (id: Uint8Array, limit: number) => string[]
  /** of the live providers of `id`, those whose copy is partial (a download in progress) */
  partialProviders?: (id: Uint8Array) => Set<string>
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

export class LookupServer implements Startable {
  readonly protocol = PROTOCOL_LOOKUP
  private readonly store: LookupStore
  private readonly timeoutMs: number

  constructor (private readonly components: LookupServerComponents, private readonly init: LookupServerInit) {
    this.store = init.store
    this.timeoutMs = init.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'fileshare/lookup-server'

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL_LOOKUP, async (stream: Stream, connection: Connection) => {
      await serveExchange(stream, LookupRequest, LookupResponse, {
        maxRequestBytes: MAX_CONTROL_FRAME,
        timeoutMs: this.timeoutMs,
        badRequest: message => response(Status.BAD_REQUEST, message),
        internalError: message => response(Status.ERROR, message)
      }, async request => await this.answer(connection.remotePeer.toString(), request))
    }, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL_LOOKUP)
  }

  async answer (from: string, request: LookupRequest): Promise<LookupResponse> {
    try {
      this.init.limiter.consume(from)
    } catch {
      return response(Status.RATE_LIMITED, 'too many lookups, slow down')
    }
    const limit = Math.min(request.limit > 0 ? request.limit : DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS)
    switch (request.kind) {
      case LookupRequest.Kind.PROVIDERS: {
        if (request.id.length !== ID_BYTES) return response(Status.BAD_REQUEST, 'bad content id')
        const peers = this.store.providers(request.id, MAX_PROVIDERS_RETURNED)
        if (peers.length === 0) return response(Status.NOT_FOUND, 'no live provider for this id')
        const partial = this.store.partialProviders?.(request.id) ?? new Set<string>()
        const providers = await Promise.all(peers.map(async p => ({ ...await this.peerInfo(peerIdFromString(p)), partial: partial.has(p) })))
        const hit = this.store.describe(request.id)
        return { ...response(Status.OK), providers, hits: hit != null ? [toWireHit(hit)] : [] }
      }
      case LookupRequest.Kind.SEARCH:
      case LookupRequest.Kind.NAME: {
        if (request.query.length > MAX_QUERY_LENGTH) return response(Status.BAD_REQUEST, `query longer than ${MAX_QUERY_LENGTH} characters`)
        const hits = request.kind === LookupRequest.Kind.SEARCH
          ? this.store.search(request.query, limit)
          : this.store.findByName(request.query, limit)
        return { ...response(Status.OK), hits: hits.map(toWireHit) }
      }
      case LookupRequest.Kind.PEER: {
        let peer: PeerId
        try {
          peer = peerIdFromMultihash(Digest.decode(request.peer))
        } catch {
          return response(Status.BAD_REQUEST, 'bad peer id')
        }
        const info = await this.peerInfo(peer)
        if (info.addrs.length === 0) return response(Status.NOT_FOUND, `no known address for ${peer.toString()}`)
        return { ...response(Status.OK), peer: info }
      }
      default:
        return response(Status.BAD_REQUEST, 'unknown lookup kind')
    }
  }

  /**
   * The peer's addresses as this master knows them: a peer holding a relay reservation
   * here is reachable at `<our address>/p2p-circuit` (listed first: it is what a NATed
   * peer can be reached at), then what identify reported.
   */
  private async peerInfo (peer: PeerId): Promise<PeerInfo> {
    const addrs = new Map<string, Uint8Array>()
    if (this.holdsReservation(peer)) {
      for (const own of this.components.addressManager.getAddresses()) {
        const relayed = own.encapsulate('/p2p-circuit')
        addrs.set(relayed.toString(), relayed.bytes)
      }
    }
    try {
      const stored = await this.components.peerStore.get(peer)
      for (const a of stored.addresses) addrs.set(a.multiaddr.toString(), a.multiaddr.bytes)
    } catch {}
    return { peer: peer.toMultihash().bytes, addrs: [...addrs.values()].slice(0, MAX_ADDRS_PER_PEER), partial: false }
  }

  /** Whether `peer` holds a slot on this master's relay (a node without a relay server has no `relay` component). */
  private holdsReservation (peer: PeerId): boolean {
    try {
      return this.components.relay?.reservations.has(peer) === true
    } catch {
      return false
    }
  }
}

function response (status: LookupResponse.Status, message = ''): LookupResponse {
  return { status, message, providers: [], hits: [] }
}

function toWireHit (hit: IndexedFile): WireHit {
  return { id: hit.id, name: hit.name, path: hit.path, size: hit.size, providers: hit.providers, seeders: hit.seeders ?? hit.providers }
}
