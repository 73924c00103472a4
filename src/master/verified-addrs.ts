/**
 * What the master knows of its peers' addresses first-hand:
 *
 * - verified: the results of dial-back checks, per peer (the addresses a check reached);
 *   lookups list these first, and the relay gate refuses a slot to a peer the master
 *   could dial directly;
 * - observed: per connected peer, the addresses it announces (identify) at the IP its
 *   connection to the master comes from; kept while the peer is connected.
 *
 * Bounded (nothing grows per stranger): the oldest entries go past `max`.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ipOf, isRelayed } from '../node/addresses.js'

export interface DialBackOutcome {
  /** the addresses a dial-back reached (empty: the peer is not reachable directly) */
  reached: Multiaddr[]
  at: number
}

export class VerifiedAddrs {
  private readonly outcomes = new Map<string, DialBackOutcome>()
  private readonly seen = new Map<string, Multiaddr[]>()

  constructor (private readonly max = 100_000) {}

  /** A dial-back for `peer` finished: these addresses were reached (maybe none). */
  record (peer: string, reached: Multiaddr[]): void {
    this.outcomes.delete(peer)
    this.outcomes.set(peer, { reached, at: Date.now() })
    while (this.outcomes.size > this.max) {
      const oldest = this.outcomes.keys().next().value
      if (oldest == null) break
      this.outcomes.delete(oldest)
    }
  }

  /** The addresses the last dial-back of `peer` reached (undefined: never checked). */
  reached (peer: string): Multiaddr[] | undefined {
    return this.outcomes.get(peer)?.reached
  }

  /** Whether the last dial-back of `peer` reached it directly. */
  isPublic (peer: string): boolean {
    return (this.outcomes.get(peer)?.reached.length ?? 0) > 0
  }

  forget (peer: string): void {
    this.outcomes.delete(peer)
  }

  /**
   * `peer` announced `addrs` (identify, an address update); `connections` are its
   * connections to the master: the announced addresses at the IP of an open direct one are
   * kept as observed.
   */
  announce (peer: PeerId, addrs: Multiaddr[], connections: Connection[]): void {
    const ips = new Set<string>()
    for (const c of connections) {
      if (c.status !== 'open' || isRelayed(c.remoteAddr.toString())) continue
      const ip = ipOf(c.remoteAddr)
      if (ip != null) ips.add(ip)
    }
    const kept = addrs.filter(a => !isRelayed(a.toString()) && ips.has(ipOf(a) ?? ''))
    const key = peer.toString()
    this.seen.delete(key)
    if (kept.length > 0) this.seen.set(key, kept)
    while (this.seen.size > this.max) {
      const oldest = this.seen.keys().next().value
      if (oldest == null) break
      this.seen.delete(oldest)
    }
  }

  /** The addresses `peer` announced at the IP the master sees it at (undefined: none known). */
  observed (peer: string): Multiaddr[] | undefined {
    return this.seen.get(peer)
  }

  /** `peer` has no connection left. */
  disconnected (peer: string): void {
    this.seen.delete(peer)
  }

  get size (): number {
    return this.outcomes.size
  }
}
