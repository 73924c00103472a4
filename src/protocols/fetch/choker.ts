/**
 * Upload slots with tit-for-tat (a sharer's choice when more peers want chunks than it has
 * slots), after BitTorrent's choking, adapted to FileShare's slot-per-stream model:
 *
 * - Up to `maxUploads` fetch streams are served at once. While a slot is free, anyone gets it.
 * - When every slot is taken, a newcomer that uploads to us (its `credit`: chunk bytes we
 *   verified from it lately, reported by our downloads) takes the slot of the served peer
 *   with the least credit, if that peer has less than the newcomer: the old holder is
 *   choked (its next request is answered BUSY and its stream ends; it asks again later or
 *   elsewhere). Peers that give back are served first.
 * - One slot is optimistic: a newcomer with nothing to give (no credit) takes it when the
 *   peer holding it has held it for OPTIMISTIC_SLOT_MS, so a downloader that just arrived
 *   gets started and can begin to give back. Everyone else at capacity gets BUSY.
 * No I/O and no timers (the caller passes `now`): choker.test.ts drives it alone.
 */

/** How long the optimistic slot stays with one peer before a newcomer may take it (BitTorrent: 30 s). */
export const OPTIMISTIC_SLOT_MS = 30_000

export interface ChokerSlot {
  readonly peer: string
  readonly since: number
  /** another peer took this slot: answer the next request BUSY and end the stream */
  choked: boolean
  /** the optimistic slot (taken without credit) */
  readonly optimistic: boolean
}

export class Choker {
  private readonly held = new Set<ChokerSlot>()

  constructor (private readonly maxUploads: number, private readonly credit: (peer: string) => number, private readonly optimisticMs = OPTIMISTIC_SLOT_MS) {}

  get active (): number {
    return this.held.size
  }

  /** A slot for a new stream from `peer`, or null: answer it BUSY. */
  admit (peer: string, now: number): ChokerSlot | null {
    if (this.held.size < this.maxUploads) return this.take(peer, now, false)
    const mine = this.credit(peer)
    const open = [...this.held].filter(s => !s.choked)
    if (mine > 0) {
      // tit-for-tat: the served peer that gives us least, unless it gives as much
      let victim: ChokerSlot | null = null
      let least = Infinity
      for (const s of open) {
        if (s.optimistic && now - s.since < this.optimisticMs) continue
        const c = this.credit(s.peer)
        if (c < least) {
          least = c
          victim = s
        }
      }
      if (victim != null && least < mine) return this.replace(victim, peer, now, false)
    }
    // the optimistic slot: rotated to a newcomer once its holder had it long enough
    const optimistic = open.find(s => s.optimistic) ?? oldestWithoutCredit(open, this.credit)
    if (optimistic != null && now - optimistic.since >= this.optimisticMs) return this.replace(optimistic, peer, now, true)
    return null
  }

  /** The stream of `slot` ended. */
  release (slot: ChokerSlot): void {
    this.held.delete(slot)
  }

  private replace (old: ChokerSlot, peer: string, now: number, optimistic: boolean): ChokerSlot {
    old.choked = true
    this.held.delete(old)
    return this.take(peer, now, optimistic)
  }

  private take (peer: string, now: number, optimistic: boolean): ChokerSlot {
    const slot: ChokerSlot = { peer, since: now, choked: false, optimistic }
    this.held.add(slot)
    return slot
  }
}

/** With no optimistic slot marked, the longest-held slot of a peer without credit stands in for it. */
function oldestWithoutCredit (open: ChokerSlot[], credit: (peer: string) => number): ChokerSlot | undefined {
  return open.filter(s => credit(s.peer) === 0).sort((a, b) => a.since - b.since)[0]
}
