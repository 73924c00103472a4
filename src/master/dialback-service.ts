/**
 * /fileshare/dialback/1.0.0 on the master: tells a peer whether it is publicly reachable.
 * The peer lists its listen addresses; the master dials, on a new connection, each one
 * whose IP is the IP the request came from (so the master can never be made to dial a
 * third host) and answers which ones it reached. A peer no address of which was reached
 * is behind a NAT or a firewall and reserves a relay slot instead.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { RateLimiter } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { DialBackRequest, DialBackResponse } from '../protocol/pb/reachability.js'
import {
  PROTOCOL_DIALBACK, MAX_CONTROL_FRAME, MAX_DIALBACK_ADDRS, DIALBACK_DIAL_TIMEOUT_MS, REQUEST_TIMEOUT_MS
} from '../protocol/limits.js'
import { serveExchange } from '../protocol/stream-io.js'
import { isRelayed, isPlainDirect, withoutPeerId, type FileShareNode } from '../node/create-node.js'

const log = logger('fileshare:master:dialback')
const { Status } = DialBackResponse

export class DialBackService {
  /** a few checks per minute per peer: each one costs the master outbound dials */
  private readonly limiter = new RateLimiter({ points: 10, duration: 60 })
  private readonly busy = new Set<string>()

  constructor (private readonly node: FileShareNode) {}

  async start (): Promise<void> {
    await this.node.handle(PROTOCOL_DIALBACK, async (stream: Stream, connection: Connection) => {
      await serveExchange(stream, DialBackRequest, DialBackResponse, {
        maxRequestBytes: MAX_CONTROL_FRAME,
        timeoutMs: REQUEST_TIMEOUT_MS,
        decodeLimits: { addrs: MAX_DIALBACK_ADDRS },
        badRequest: message => response(Status.BAD_REQUEST, message),
        internalError: message => response(Status.ERROR, message)
      }, async request => await this.check(connection, request))
    }, { maxInboundStreams: 2 })
  }

  async stop (): Promise<void> {
    await this.node.unhandle(PROTOCOL_DIALBACK)
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
    if (this.busy.has(key)) return response(Status.RATE_LIMITED, 'a dial-back for this peer is already running')
    this.busy.add(key)
    try {
      const observedIp = hostOf(observed)
      const candidates: Multiaddr[] = []
      for (const bytes of request.addrs) {
        let ma: Multiaddr
        try {
          ma = multiaddr(bytes)
        } catch {
          continue
        }
        // only plain TCP or QUIC addresses at the IP we see: never a third host, never via a relay
        if (!isPlainDirect(ma) || hostOf(ma) !== observedIp) continue
        candidates.push(ma)
      }
      // in parallel: the answer must come within the requester's timeout
      const reached: Array<Uint8Array | null> = await Promise.all(candidates.map(async ma => {
        try {
          const conn = await this.node.dial(ma.encapsulate(`/p2p/${key}`), { force: true, signal: AbortSignal.timeout(DIALBACK_DIAL_TIMEOUT_MS) })
          await conn.close().catch(() => {})
          return ma.bytes
        } catch (err: any) {
          log('dial-back to %s failed: %s', ma.toString(), err?.message ?? err)
          return null
        }
      }))
      const reachable = reached.filter(b => b != null) as Uint8Array[]
      log('dial-back for %s: %d of %d addresses reachable (observed %s)', key, reachable.length, candidates.length, observed.toString())
      return { ...response(Status.OK), reachable, observed: withoutPeerId(observed).bytes }
    } finally {
      this.busy.delete(key)
    }
  }
}

function hostOf (ma: Multiaddr): string | undefined {
  return ma.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
}

function response (status: DialBackResponse.Status, message = ''): DialBackResponse {
  return { status, message, reachable: [], observed: new Uint8Array(0) }
}
