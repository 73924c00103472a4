/**
 * /fileshare/lookup/1.0.0 on the master: live providers of a content id (with their
 * addresses, relay addresses included), name search, exact-name lookup, and a PeerId's
 * current addresses. One request and one response per stream.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import type { RateLimiter } from '@libp2p/utils'
import { peerRateLimiter, type RegisterServiceOptions } from './register-service.js'
import { LookupRequest, LookupResponse, type PeerInfo, type SearchHit as WireHit } from '../protocol/pb/lookup.js'
import {
  PROTOCOL_LOOKUP, MAX_CONTROL_FRAME, REQUEST_TIMEOUT_MS, MAX_SEARCH_RESULTS, DEFAULT_SEARCH_RESULTS,
  MAX_PROVIDERS_RETURNED, MAX_ADDRS_PER_PEER, MAX_QUERY_LENGTH, MAX_INBOUND_STREAMS
} from '../protocol/limits.js'
import { serveExchange } from '../protocol/stream-io.js'
import { ID_BYTES } from '../content/content-id.js'
import type { FileShareNode } from '../node/create-node.js'
import type { IndexStore, SearchHit } from './index-store.js'
import { metrics } from '../metrics/metrics.js'

const { Status } = LookupResponse

export type LookupServiceOptions = Pick<RegisterServiceOptions, 'requestTimeoutMs' | 'requestsPerSecond' | 'requestBurst'>

export class LookupService {
  private readonly limiter: RateLimiter
  private readonly timeoutMs: number

  constructor (private readonly node: FileShareNode, private readonly index: IndexStore, options: LookupServiceOptions = {}) {
    this.timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
    this.limiter = peerRateLimiter(options.requestsPerSecond, options.requestBurst)
  }

  async start (): Promise<void> {
    await this.node.handle(PROTOCOL_LOOKUP, async (stream: Stream, connection: Connection) => {
      await serveExchange(stream, LookupRequest, LookupResponse, {
        maxRequestBytes: MAX_CONTROL_FRAME,
        timeoutMs: this.timeoutMs,
        badRequest: message => response(Status.BAD_REQUEST, message),
        internalError: message => response(Status.ERROR, message)
      }, async request => await this.answer(connection.remotePeer.toString(), request))
    }, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.node.unhandle(PROTOCOL_LOOKUP)
  }

  async answer (from: string, request: LookupRequest): Promise<LookupResponse> {
    try {
      this.limiter.consume(from)
    } catch {
      metrics().refused('rate_limit')
      return response(Status.RATE_LIMITED, 'too many lookups, slow down')
    }
    const limit = Math.min(request.limit > 0 ? request.limit : DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS)
    switch (request.kind) {
      case LookupRequest.Kind.PROVIDERS: {
        if (request.id.length !== ID_BYTES) return response(Status.BAD_REQUEST, 'bad content id')
        const peers = this.index.providers(request.id, MAX_PROVIDERS_RETURNED)
        metrics().lookup('providers', 0)
        if (peers.length === 0) return response(Status.NOT_FOUND, 'no live provider for this id')
        const providers = await Promise.all(peers.map(async p => await this.peerInfo(peerIdFromString(p))))
        const hit = this.index.describe(request.id)
        return { ...response(Status.OK), providers, hits: hit != null ? [toWireHit(hit)] : [] }
      }
      case LookupRequest.Kind.SEARCH:
      case LookupRequest.Kind.NAME: {
        if (request.query.length > MAX_QUERY_LENGTH) return response(Status.BAD_REQUEST, `query longer than ${MAX_QUERY_LENGTH} characters`)
        const started = performance.now()
        const hits = request.kind === LookupRequest.Kind.SEARCH
          ? this.index.search(request.query, limit)
          : this.index.findByName(request.query, limit)
        metrics().lookup(request.kind === LookupRequest.Kind.SEARCH ? 'search' : 'name', (performance.now() - started) / 1000)
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
        metrics().lookup('peer', 0)
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
    if (this.node.services.relay?.reservations.has(peer) === true) {
      for (const own of this.node.getMultiaddrs()) {
        const relayed = own.encapsulate('/p2p-circuit')
        addrs.set(relayed.toString(), relayed.bytes)
      }
    }
    try {
      const stored = await this.node.peerStore.get(peer)
      for (const a of stored.addresses) addrs.set(a.multiaddr.toString(), a.multiaddr.bytes)
    } catch {}
    return { peer: peer.toMultihash().bytes, addrs: [...addrs.values()].slice(0, MAX_ADDRS_PER_PEER) }
  }
}

function response (status: LookupResponse.Status, message = ''): LookupResponse {
  return { status, message, providers: [], hits: [] }
}

function toWireHit (hit: SearchHit): WireHit {
  return { id: hit.id, name: hit.name, path: hit.path, size: hit.size, providers: hit.providers }
}
