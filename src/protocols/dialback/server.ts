/**
 * /fileshare/dialback/1.0.0 on the master: tells a peer whether it is publicly reachable.
 * The peer lists its listen addresses; the master dials, on a new connection, each one
 * whose IP is the IP the request came from (so the master can never be made to dial a
 * third host) and answers which ones it reached. A peer no address of which was reached
 * is behind a NAT or a firewall and reserves a relay slot instead.
 *
 * Each check costs the master outbound dials, so checks are limited per key and per remote
 * IP (fresh keys are free to make): `dialBackPerIpPerMinute` (config/master.json) is sized
 * for a household or campus behind one NAT, whose peers each check once at start and
 * again on backoff.
 */
import type { AbortOptions, Connection, Logger, Stream, Startable } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { RateLimiter } from '@libp2p/utils'
import { DialBackRequest, DialBackResponse } from './pb/dialback.js'
import { PROTOCOL_DIALBACK, MAX_DIALBACK_ADDRS, DIALBACK_DIAL_TIMEOUT_MS, DIALBACK_CHECKS_PER_MINUTE, DIALBACK_PER_IP_PER_MINUTE } from './constants.js'
import { MAX_CONTROL_FRAME, REQUEST_TIMEOUT_MS } from '../constants.js'
import { serveExchange } from '../stream-io.js'
import { isRelayed, isPlainDirect, withoutPeerId, ipOf } from '../../node/addresses.js'
import type { ServerComponents } from '../components.js'

const { Status } = DialBackResponse

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
  /**
   * dial-back checks one remote IP may ask for per minute, whatever the keys (fresh keys
   * cost nothing to make)
   *
   * @default DIALBACK_PER_IP_PER_MINUTE (60)
   */
  checksPerIpPerMinute?: number
  /** called with each finished check: the peer and the addresses reached (the master's lookups and relay gate use them) */
  onResult?: (peer: string, reached: Multiaddr[]) => void
  /** called for each request served on `connection` (the master's idle-connection reaper) */
  onRequest?: (connection: Connection) => void
}

export class DialBackServer implements Startable {
  readonly protocol = PROTOCOL_DIALBACK
  private readonly log: Logger
  /** a few checks per minute per peer: each one costs the master outbound dials */
  private readonly limiter: RateLimiter
  /** and per remote IP */
  private readonly ipLimiter: RateLimiter
  private readonly busy = new Set<string>()

  constructor (private readonly components: DialBackServerComponents, private readonly init: DialBackServerInit = {}) {
    this.log = components.logger.forComponent('fileshare:master:dialback')
    this.limiter = new RateLimiter({ points: init.checksPerMinute ?? DIALBACK_CHECKS_PER_MINUTE, duration: 60 })
    this.ipLimiter = new RateLimiter({ points: Math.max(1, init.checksPerIpPerMinute ?? DIALBACK_PER_IP_PER_MINUTE), duration: 60 })
  }

  readonly [Symbol.toStringTag] = 'fileshare/dialback-server'

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL_DIALBACK, async (stream: Stream, connection: Connection) => {
      await serveExchange(stream, DialBackRequest, DialBackResponse, {
        maxRequestBytes: MAX_CONTROL_FRAME,
        timeoutMs: REQUEST_TIMEOUT_MS,
        decodeLimits: { addrs: MAX_DIALBACK_ADDRS },
        badRequest: message => response(Status.BAD_REQUEST, message),
        internalError: message => response(Status.ERROR, message)
      }, async request => {
        this.init.onRequest?.(connection)
        return await this.check(connection, request)
      })
    }, { maxInboundStreams: 2 })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL_DIALBACK)
  }

  private async check (connection: Connection, request: DialBackRequest): Promise<DialBackResponse> {
    const peer = connection.remotePeer
    const key = peer.toString()
    const observed = connection.remoteAddr
    if (isRelayed(observed.toString())) return response(Status.BAD_REQUEST, 'dial-back needs a direct connection')
    try {
      this.limiter.consume(key)
    } catch {
      return response(Status.RATE_LIMITED, 'too many dial-back requests, slow down')
    }
    try {
      this.ipLimiter.consume(ipOf(observed) ?? observed.toString())
    } catch {
      return response(Status.RATE_LIMITED, 'too many dial-back requests from this IP address, slow down')
    }
    if (this.busy.has(key)) return response(Status.RATE_LIMITED, 'a dial-back for this peer is already running')
    this.busy.add(key)
    try {
      const observedIp = ipOf(observed)
      const candidates: Multiaddr[] = []
      for (const bytes of request.addrs) {
        let ma: Multiaddr
        try {
          ma = multiaddr(bytes)
        } catch {
          continue
        }
        // only plain TCP or QUIC addresses at the IP we see: never a third host, never via a relay
        if (!isPlainDirect(ma) || ipOf(ma) !== observedIp) continue
        candidates.push(ma)
      }
      // in parallel: the answer must come within the requester's timeout
      const reached: Array<Uint8Array | null> = await Promise.all(candidates.map(async ma => {
        try {
          const conn = await this.components.connectionManager.openConnection(ma.encapsulate(`/p2p/${key}`), { force: true, priority: 75, signal: AbortSignal.timeout(DIALBACK_DIAL_TIMEOUT_MS) })
          await conn.close().catch(() => {})
          return ma.bytes
        } catch (err: any) {
          this.log('dial-back to %s failed: %s', ma.toString(), err?.message ?? err)
          return null
        }
      }))
      const reachable = reached.filter(b => b != null) as Uint8Array[]
      this.init.onResult?.(key, candidates.filter((_, i) => reached[i] != null))
      this.log('dial-back for %s: %d of %d addresses reachable (observed %s)', key, reachable.length, candidates.length, observed.toString())
      return { ...response(Status.OK), reachable, observed: withoutPeerId(observed).bytes }
    } finally {
      this.busy.delete(key)
    }
  }
}

function response (status: DialBackResponse.Status, message = ''): DialBackResponse {
  return { status, message, reachable: [], observed: new Uint8Array(0) }
}
