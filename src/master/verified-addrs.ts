/**
 * Addresses the master reached itself: the results of dial-back checks, per peer. Lookups
 * list these first (a verified provider ranks above one the master only sees connected),
 * and the relay gate refuses a slot to a peer the master could dial directly.
 *
 * Bounded (nothing grows per stranger): the oldest entries go past `max`; an entry is
 * dropped when its peer's records are pruned or replaced by its next check.
 */
import type { Multiaddr } from '@multiformats/multiaddr'

export interface DialBackOutcome {
  /** the addresses a dial-back reached (empty: the peer is not reachable directly) */
  reached: Multiaddr[]
  at: number
}

export class VerifiedAddrs {
  private readonly outcomes = new Map<string, DialBackOutcome>()

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

  get size (): number {
    return this.outcomes.size
  }
}
