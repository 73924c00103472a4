/**
 * Idle connections cannot exhaust the master.
 *
 * - Per-IP cap: at most `maxPerIp` inbound connections from one IP address at once, counting
 *   the handshakes under way (checked before the handshake: a gater hook after it would
 *   delay every new connection's first streams). Sized for NAT: a household or a campus
 *   shares one public IP, so the default is a quarter of maxConnections' default. At the
 *   cap a new connection is not refused while the IP holds a connection that has not been
 *   used yet: the oldest such one is closed to make room, so a flood of idle connections
 *   from one IP cannot lock out an honest peer behind the same NAT.
 * - Per-key cap: at most `maxPerPeer` inbound connections of one PeerId at once (checked
 *   after the handshake, when the key is known): one key cannot take its IP's share.
 * - Idle reaper: an inbound connection that has not registered, looked up, asked for a
 *   dial-back, held a relay reservation or carried a relayed connection within `idleMs` is
 *   closed. A connection that did any of these once is left alone (a sharing peer keeps its
 *   connection open for liveness, a downloader's relayed download may take hours).
 * The per-IP connection rate is the connection manager's `inboundConnectionThreshold`
 * (create-node.ts), sized to let a capped IP fill its allowance in a few seconds.
 */
import type { Connection, ConnectionGater, PeerId, MultiaddrConnection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ipOf, isRelayed } from '../node/addresses.js'
import { logger } from '@libp2p/logger'
import type { FileShareNode } from '../node/create-node.js'

const log = logger('fileshare:master:connections')

/** A handshake admitted this long ago that never became a connection no longer counts (libp2p's inbound upgrade timeout). */
const HANDSHAKE_MS = 10_000

/** An unused connection younger than this is not evicted for a newcomer (it has had no time to ask anything yet). */
const EVICT_AFTER_MS = 1_000

/** Protocols whose streams show a connection is in use: the relay's hop/stop (a relayed connection runs on them). */
const BUSY_PROTOCOL = /^\/libp2p\/circuit\/relay\//

export interface ConnectionGuardOptions {
  /** inbound connections from one IP at once (0 = no cap) */
  maxPerIp: number
  /** inbound connections of one PeerId at once (0 = no cap) */
  maxPerPeer?: number
  /** an inbound connection that did nothing useful for this long is closed, ms (0 = never) */
  idleMs: number
  /** whether `peer` holds a registration (a sharing peer's connection is in use) */
  registered: (peer: string) => boolean
  /** whether `peer` holds a relay reservation here */
  reserved: (peer: PeerId) => boolean
}

export class ConnectionGuard {
  private readonly perIp = new Map<string, number>()
  /** per IP: when each admitted handshake started (removed as connections open, or after HANDSHAKE_MS) */
  private readonly handshakes = new Map<string, number[]>()
  /** connections that did something useful: never reaped */
  private readonly proven = new WeakSet<Connection>()
  /** evicted connections, already uncounted before their close event */
  private readonly uncounted = new WeakSet<Connection>()
  private node: FileShareNode | null = null
  private sweeper: NodeJS.Timeout | null = null
  private readonly onOpen = (evt: CustomEvent<Connection>): void => { this.opened(evt.detail) }
  private readonly onClose = (evt: CustomEvent<Connection>): void => { this.closed(evt.detail) }
  /** connections closed as idle so far */
  reaped = 0
  /** inbound connections refused for the per-IP or per-key cap so far */
  refused = 0
  /** unused connections closed to make room for a new one from the same IP so far */
  evicted = 0

  constructor (private readonly options: ConnectionGuardOptions) {}

  /** The gater half (installed when the node is created, before start()). */
  gater (): Pick<ConnectionGater, 'denyInboundConnection' | 'denyInboundUpgradedConnection'> {
    return {
      denyInboundConnection: (maConn: MultiaddrConnection) => this.deny(maConn.remoteAddr),
      denyInboundUpgradedConnection: (peer: PeerId) => this.denyPeer(peer)
    }
  }

  start (node: FileShareNode): void {
    this.node = node
    node.addEventListener('connection:open', this.onOpen)
    node.addEventListener('connection:close', this.onClose)
    for (const c of node.getConnections()) this.opened(c)
    if (this.options.idleMs > 0) {
      this.sweeper = setInterval(() => { this.sweep() }, Math.max(100, Math.min(5_000, Math.floor(this.options.idleMs / 2))))
      this.sweeper.unref()
    }
  }

  stop (): void {
    this.node?.removeEventListener('connection:open', this.onOpen)
    this.node?.removeEventListener('connection:close', this.onClose)
    if (this.sweeper != null) clearInterval(this.sweeper)
    this.sweeper = null
    this.perIp.clear()
    this.handshakes.clear()
  }

  /** `connection` registered, looked up or asked for a dial-back: it stays. */
  used (connection: Connection): void {
    this.proven.add(connection)
  }

  /** Open inbound connections from `ip`. */
  connectionsFrom (ip: string): number {
    return this.perIp.get(ip) ?? 0
  }

  private deny (addr: Multiaddr): boolean {
    const ip = directIpOf(addr)
    if (ip == null || this.options.maxPerIp <= 0) return false
    const now = Date.now()
    const started = (this.handshakes.get(ip) ?? []).filter(t => now - t < HANDSHAKE_MS)
    if ((this.perIp.get(ip) ?? 0) + started.length < this.options.maxPerIp) {
      started.push(now)
      this.handshakes.set(ip, started)
      return false
    }
    if (started.length > 0) this.handshakes.set(ip, started)
    else this.handshakes.delete(ip)
    if (this.evictUnused(ip, now)) {
      started.push(now)
      this.handshakes.set(ip, started)
      return false
    }
    this.refused++
    if (this.refused % 100 === 1) log('refusing connections from %s: %d open (maxConnectionsPerIp)', ip, this.perIp.get(ip))
    return true
  }

  /** Closes the oldest inbound connection from `ip` that was never used (open for a second at least); whether one was. */
  private evictUnused (ip: string, now: number): boolean {
    const node = this.node
    if (node == null) return false
    let oldest: Connection | undefined
    for (const c of node.getConnections()) {
      if (c.status !== 'open' || c.direction !== 'inbound' || this.proven.has(c) || counted(c) !== ip) continue
      if (now - c.timeline.open < EVICT_AFTER_MS || this.inUse(c)) continue
      if (oldest == null || c.timeline.open < oldest.timeline.open) oldest = c
    }
    if (oldest == null) return false
    this.evicted++
    log('closing %p (%a), unused, to make room for a new connection from %s', oldest.remotePeer, oldest.remoteAddr, ip)
    const victim = oldest
    // counted as closed now: the room is for the connection being admitted
    this.closed(victim)
    this.uncounted.add(victim)
    victim.close().catch(err => { victim.abort(err) })
    return true
  }

  private denyPeer (peer: PeerId): boolean {
    const max = this.options.maxPerPeer ?? 0
    const node = this.node
    if (max <= 0 || node == null) return false
    const open = node.getConnections(peer).filter(c => c.direction === 'inbound' && c.status === 'open').length
    if (open < max) return false
    this.refused++
    log('refusing a connection of %p: %d open (per-key cap)', peer, open)
    return true
  }

  private opened (c: Connection): void {
    const ip = counted(c)
    if (ip == null) return
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1)
    const started = this.handshakes.get(ip)
    started?.shift()
    if (started?.length === 0) this.handshakes.delete(ip)
  }

  private closed (c: Connection): void {
    if (this.uncounted.has(c)) return
    const ip = counted(c)
    if (ip == null) return
    const n = (this.perIp.get(ip) ?? 1) - 1
    if (n <= 0) this.perIp.delete(ip)
    else this.perIp.set(ip, n)
  }

  /** Closes inbound connections idle since they opened for longer than idleMs. */
  sweep (): void {
    const node = this.node
    if (node == null) return
    const cutoff = Date.now() - this.options.idleMs
    for (const c of node.getConnections()) {
      if (c.status !== 'open' || c.direction !== 'inbound' || this.proven.has(c)) continue
      if (c.timeline.open > cutoff) continue
      if (this.inUse(c)) {
        this.proven.add(c)
        continue
      }
      this.reaped++
      log('closing %p (%a): idle for %d ms', c.remotePeer, c.remoteAddr, Date.now() - c.timeline.open)
      c.close().catch(err => { c.abort(err) })
    }
  }

  private inUse (c: Connection): boolean {
    const peer = c.remotePeer
    if (this.options.reserved(peer)) return true
    if (c.streams.some(s => BUSY_PROTOCOL.test(s.protocol ?? ''))) return true
    try {
      return this.options.registered(peer.toString())
    } catch {
      return false
    }
  }
}

/** The IP a connection is counted under: inbound, direct (relayed connections do not end here). */
function counted (c: Connection): string | undefined {
  if (c.direction !== 'inbound') return undefined
  return directIpOf(c.remoteAddr)
}

/** The IP of a direct address (undefined for a relayed one). */
export function directIpOf (addr: Multiaddr): string | undefined {
  return isRelayed(addr.toString()) ? undefined : ipOf(addr)
}
