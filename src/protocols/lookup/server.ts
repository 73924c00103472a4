/**
 * /fileshare/lookup/1.0.0, the master's side (the protocol is described in index.ts).
 */
import type { Connection, PeerId, Stream, Startable } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { LookupRequest, LookupResponse, type PeerInfo, type SearchHit as WireHit } from './pb/lookup.js'
import {
  PROTOCOL_LOOKUP, MAX_SEARCH_RESULTS, DEFAULT_SEARCH_RESULTS, MAX_PROVIDERS_RETURNED, MAX_QUERY_LENGTH,
  DEFAULT_PROVIDERS_RETURNED, MAX_ADDRS_RETURNED, MAX_EXCLUDED
} from './constants.js'
import { sampleProviders, ipPrefix, type RankedProvider } from './sample.js'
import { MAX_CONTROL_FRAME, REQUEST_TIMEOUT_MS, MAX_INBOUND_STREAMS } from '../constants.js'
import { serveExchange } from '../stream-io.js'
import { ID_BYTES } from '../../content/content-id.js'
import type { PeerStore } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ipOf, isRelayed } from '../../node/addresses.js'
import type { ServerComponents, PeerLimiter, IpLimiter } from '../components.js'
import type { IndexWorkLane } from '../register/server.js'
import { metrics } from '../../metrics/metrics.js'

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

/** A live provider as the index knows it. */
export interface ProviderCandidate {
  peer: string
  /** when it last became live (ms since the epoch) */
  since?: number
}

/** Addresses the master knows first-hand (master/verified-addrs.ts). */
export interface VerifiedAddresses {
  /** the addresses a dial-back reached */
  reached: (peer: string) => Multiaddr[] | undefined
  /** the addresses a connected peer announces at the IP the master sees it at */
  observed?: (peer: string) => Multiaddr[] | undefined
}

/** What the master's index answers (master/index-store.ts). */
export interface LookupStore {
  /** live peers that share `id` (at most `limit`, none of `exclude`); the server samples them */
  providers: (id: Uint8Array, limit: number, exclude?: ReadonlySet<string>) => ProviderCandidate[]
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
  /** the node's connections: where the master sees a provider from */
  connectionManager?: { getConnections: (peer?: PeerId) => Connection[] }
}

export interface LookupServerInit {
  store: LookupStore
  /** per-peer request budget (master/rate-limiter.ts) */
  limiter: PeerLimiter
  /** per-IP request budget, whatever the keys (fresh keys cost nothing to make) */
  ipLimiter?: IpLimiter
  /**
   * a request must arrive and be answered within this time
   *
   * @default REQUEST_TIMEOUT_MS (15 s)
   */
  requestTimeoutMs?: number
  /** addresses the master's dial-back reached, per peer */
  verified?: VerifiedAddresses
  /** called for each request served on `connection` (the master's idle-connection reaper) */
  onRequest?: (connection: Connection) => void
  /** called for each request on `connection` answered RATE_LIMITED (the master's refusal penalty) */
  onRefused?: (connection: Connection) => void
  /** where searches of served requests run (master/index-lane.ts); provider lookups stay off it */
  lane?: IndexWorkLane
}

/** Candidates read from the index per PROVIDERS request (then ranked and sampled). */
const PROVIDER_CANDIDATES = 2_000
/** Candidates whose stored addresses are examined, per provider returned. */
const EXAMINE_FACTOR = 3

interface Described {
  info: PeerInfo
  tier: number
  prefix: string
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
        decodeLimits: { exclude: MAX_EXCLUDED },
        internalError: message => response(Status.ERROR, message)
      }, async request => {
        this.init.onRequest?.(connection)
        const ip = connection.remoteAddr != null ? ipOf(connection.remoteAddr) : undefined
        if (ip != null && this.init.ipLimiter != null) {
          try {
            this.init.ipLimiter.consume(ip, connection.remotePeer.toString())
          } catch {
            this.init.onRefused?.(connection)
            return response(Status.RATE_LIMITED, 'too many lookups from this IP address, slow down')
          }
        }
        const res = await this.answer(connection.remotePeer.toString(), request, ip)
        if (res.status === Status.RATE_LIMITED) this.init.onRefused?.(connection)
        return res
      })
    }, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL_LOOKUP)
  }

  /** `ip`: where the request came from (the index lane's budgets count by it). */
  async answer (from: string, request: LookupRequest, ip?: string): Promise<LookupResponse> {
    try {
      this.init.limiter.consume(from)
    } catch {
      metrics().refused('rate_limit')
      return response(Status.RATE_LIMITED, 'too many lookups, slow down')
    }
    const limit = Math.min(request.limit > 0 ? request.limit : DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS)
    switch (request.kind) {
      case LookupRequest.Kind.PROVIDERS: {
        if (request.id.length !== ID_BYTES) return response(Status.BAD_REQUEST, 'bad content id')
        const wanted = Math.min(request.limit > 0 ? request.limit : DEFAULT_PROVIDERS_RETURNED, MAX_PROVIDERS_RETURNED)
        const sampled = await this.sample(request.id, wanted, excluded(request.exclude))
        if (sampled.length === 0) return response(Status.NOT_FOUND, 'no live provider for this id')
        metrics().lookup('providers', 0)
        const partial = this.store.partialProviders?.(request.id) ?? new Set<string>()
        const providers = sampled.map(({ peer, info }) => ({ ...info, partial: partial.has(peer) }))
        const hit = this.store.describe(request.id)
        return { ...response(Status.OK), providers, hits: hit != null ? [toWireHit(hit)] : [] }
      }
      case LookupRequest.Kind.SEARCH:
      case LookupRequest.Kind.NAME: {
        if (request.query.length > MAX_QUERY_LENGTH) return response(Status.BAD_REQUEST, `query longer than ${MAX_QUERY_LENGTH} characters`)
        const lane = this.init.lane
        if (lane != null && ip != null && !lane.admit(ip, from)) {
          metrics().refused('rate_limit')
          return response(Status.RATE_LIMITED, 'too many lookups queued from this peer or IP address (the index is busy), slow down')
        }
        const started = performance.now()
        const find = (): IndexedFile[] => request.kind === LookupRequest.Kind.SEARCH
          ? this.store.search(request.query, limit)
          : this.store.findByName(request.query, limit)
        let hits: IndexedFile[]
        try {
          hits = lane != null && ip != null ? (await lane.run(ip, from, [find]))[0] : find()
        } catch (err: any) {
          // pushed out of a full lane for a less busy IP's request
          if (err?.code !== 'RATE_LIMITED') throw err
          metrics().refused('rate_limit')
          return response(Status.RATE_LIMITED, 'too many lookups queued from this IP address (the index is busy), slow down')
        }
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
        const { info } = await this.describePeer(peer)
        metrics().lookup('peer', 0)
        if (info.addrs.length === 0) return response(Status.NOT_FOUND, `no known address for ${peer.toString()}`)
        return { ...response(Status.OK), peer: info }
      }
      default:
        return response(Status.BAD_REQUEST, 'unknown lookup kind')
    }
  }

  /**
   * A varied sample of the live providers of `id` (sample.ts): the index's candidates
   * ranked first by what costs nothing to know (relay slot, dial-back, a connection), then
   * the most promising of them by their addresses.
   */
  private async sample (id: Uint8Array, wanted: number, exclude: Set<string>): Promise<Array<{ peer: string, info: PeerInfo }>> {
    const now = Date.now()
    const candidates = this.store.providers(id, PROVIDER_CANDIDATES, exclude)
    const cheap: RankedProvider[] = []
    const byPeer = new Map<string, PeerId>()
    for (const c of candidates) {
      let peer: PeerId
      try {
        peer = peerIdFromString(c.peer)
      } catch {
        continue
      }
      byPeer.set(c.peer, peer)
      const ips = this.observedIps(peer)
      const verified = this.holdsReservation(peer) || (this.init.verified?.reached(c.peer)?.length ?? 0) > 0
      // without an observed-address book, connected providers may turn out to have one (tier 1): rank them so for now
      const book = this.init.verified
      const observed = book?.observed != null ? (book.observed(c.peer)?.length ?? 0) > 0 : ips.length > 0
      const tier = verified ? 0 : observed ? 1 : ips.length > 0 ? 2 : 3
      cheap.push({ peer: c.peer, tier, prefix: ips.length > 0 ? ipPrefix(ips[0]) : '', ageMs: c.since != null && c.since > 0 ? now - c.since : 0 })
    }
    const shortlist = sampleProviders(cheap, wanted * EXAMINE_FACTOR)
    const described = await Promise.all(shortlist.map(async r => ({ r, d: await this.describePeer(byPeer.get(r.peer)!) })))
    const ranked = described.map(({ r, d }) => ({ ...r, tier: d.tier, prefix: d.prefix !== '' ? d.prefix : r.prefix }))
    const infos = new Map(described.map(({ r, d }) => [r.peer, d.info]))
    return sampleProviders(ranked, wanted).map(r => ({ peer: r.peer, info: infos.get(r.peer)! }))
  }

  /**
   * The peer's addresses as this master knows them, and how much that is worth (a tier,
   * sample.ts): a peer holding a relay reservation here is reachable at `<our
   * address>/p2p-circuit` (listed first: it is what a NATed peer can be reached at), then
   * the addresses a dial-back reached, then what identify reported at the IP the peer's
   * connection comes from: never an address at another host (a lookup must not send
   * downloaders to a third party), at most MAX_ADDRS_RETURNED of its own.
   */
  private async describePeer (peer: PeerId): Promise<Described> {
    const key = peer.toString()
    const relayAddrs = new Map<string, Uint8Array>()
    const own = new Map<string, Uint8Array>()
    let tier = 3
    if (this.holdsReservation(peer)) {
      tier = 0
      for (const mine of this.components.addressManager.getAddresses()) {
        if (relayAddrs.size >= MAX_ADDRS_RETURNED) break
        if (isRelayed(mine.toString())) continue
        const relayed = mine.encapsulate('/p2p-circuit')
        relayAddrs.set(relayed.toString(), relayed.bytes)
      }
    }
    const add = (ma: Multiaddr): void => {
      if (own.size < MAX_ADDRS_RETURNED) own.set(ma.toString(), ma.bytes)
    }
    for (const ma of this.init.verified?.reached(key) ?? []) {
      tier = 0
      add(ma)
    }
    const ips = this.observedIps(peer)
    if (ips.length > 0) tier = Math.min(tier, 2)
    const seen = this.init.verified?.observed?.(key)
    if (seen != null && seen.length > 0) {
      tier = Math.min(tier, 1)
      for (const ma of seen) add(ma)
    }
    if (seen == null && ips.length > 0 && own.size < MAX_ADDRS_RETURNED) {
      try {
        const stored = await this.components.peerStore.get(peer)
        for (const a of stored.addresses) {
          const ma = a.multiaddr
          if (isRelayed(ma.toString())) continue
          const host = ipOf(ma)
          if (host == null || !ips.includes(host)) continue
          add(ma)
          tier = Math.min(tier, 1)
        }
      } catch {}
    }
    return {
      info: { peer: peer.toMultihash().bytes, addrs: [...relayAddrs.values(), ...own.values()], partial: false },
      tier,
      prefix: ips.length > 0 ? ipPrefix(ips[0]) : ''
    }
  }

  /** The IPs of the peer's open direct connections to this node (where the master sees it). */
  private observedIps (peer: PeerId): string[] {
    const ips: string[] = []
    for (const c of this.components.connectionManager?.getConnections(peer) ?? []) {
      if (c.status !== 'open' || isRelayed(c.remoteAddr.toString())) continue
      const host = ipOf(c.remoteAddr)
      if (host != null && !ips.includes(host)) ips.push(host)
    }
    return ips
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

/** The excluded PeerIds of a request, as strings (garbage entries are skipped). */
function excluded (list: Uint8Array[]): Set<string> {
  const out = new Set<string>()
  for (const bytes of list.slice(0, MAX_EXCLUDED)) {
    try {
      out.add(peerIdFromMultihash(Digest.decode(bytes)).toString())
    } catch {}
  }
  return out
}

function response (status: LookupResponse.Status, message = ''): LookupResponse {
  return { status, message, providers: [], hits: [] }
}

function toWireHit (hit: IndexedFile): WireHit {
  return { id: hit.id, name: hit.name, path: hit.path, size: hit.size, providers: hit.providers, seeders: hit.seeders ?? hit.providers }
}
