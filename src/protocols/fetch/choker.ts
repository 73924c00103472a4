/**
 * Fair upload (issue 11): the fetch server's upload slots with tit-for-tat, after
 * BitTorrent's choking, on top of UploadSlots (upload-slots.ts; one slot mechanism):
 *
 * - The per-PeerId and per-IP limits apply first; while the total has room, anyone gets a slot.
 * - When every slot is taken, a requester that uploads to us (its credit: chunk bytes our
 *   own downloads verified from it lately, reported through FetchServer.earn, decaying with
 *   a half-life of CREDIT_HALF_LIFE_MS) takes the slot of the holder with the least credit,
 *   if that holder has less: the old holder is choked (its next request is answered BUSY
 *   and its stream ends; it asks again later or elsewhere). Peers that give back are
 *   served first.
 * - One slot is optimistic: a requester with nothing to give takes it once the peer holding
 *   it has held it for `optimisticMs` (OPTIMISTIC_SLOT_MS), so a downloader that just
 *   arrived gets started and can begin to give back. Everyone else at capacity gets BUSY.
 * No I/O and no timers (the caller passes `now`): choker.test.ts drives it alone.
 */
import { UploadSlots, type UploadSlot, type UploadSlotLimits, type Admission, type SlotRefusal } from './upload-slots.js'

/** How long the optimistic slot stays with one peer before a newcomer may take it (BitTorrent: 30 s). */
export const OPTIMISTIC_SLOT_MS = 30_000
/** Upload credit halves in this time: what a peer gave lately counts, not what it gave an hour ago. */
export const CREDIT_HALF_LIFE_MS = 60_000
/** Peers whose credit is remembered (the least is forgotten beyond). */
export const MAX_CREDITORS = 4096

/** Chunk bytes verified from each peer lately, decaying exponentially. */
export class UploadCredit {
  private readonly ledger = new Map<string, { bytes: number, at: number }>()

  constructor (private readonly halfLifeMs = CREDIT_HALF_LIFE_MS) {}

  /** `bytes` of verified chunks came from `peer`. */
  earn (peer: string, bytes: number, now = Date.now()): void {
    if (!(bytes > 0)) return
    this.ledger.set(peer, { bytes: this.of(peer, now) + bytes, at: now })
    if (this.ledger.size > MAX_CREDITORS) this.forgetLeast(now)
  }

  /** `peer`'s credit now (0: it gave nothing lately). */
  of (peer: string, now = Date.now()): number {
    const entry = this.ledger.get(peer)
    if (entry == null) return 0
    return entry.bytes * Math.pow(2, -Math.max(0, now - entry.at) / this.halfLifeMs)
  }

  private forgetLeast (now: number): void {
    let least: string | undefined
    let min = Infinity
    for (const peer of this.ledger.keys()) {
      const c = this.of(peer, now)
      if (c < min) {
        min = c
        least = peer
      }
    }
    if (least != null) this.ledger.delete(least)
  }
}

export class Choker extends UploadSlots {
  constructor (limits: UploadSlotLimits, private readonly credit: (peer: string, now: number) => number, private readonly optimisticMs = OPTIMISTIC_SLOT_MS) {
    super(limits)
  }

  protected override admit (peer: string, ip: string | null, now: number): Admission | SlotRefusal {
    const admitted = super.admit(peer, ip, now)
    if (admitted !== 'total') return admitted
    // never the requester's own slot (the per-PeerId limit let it have one more)
    const open = this.holders().filter(s => s.peer !== peer)
    const mine = this.credit(peer, now)
    if (mine > 0) {
      // tit-for-tat: the holder that gives us least, unless it gives as much; a fresh optimistic slot is left alone
      let victim: UploadSlot | null = null
      let least = Infinity
      for (const s of open) {
        if (s.optimistic && now - s.since < this.optimisticMs) continue
        const c = this.credit(s.peer, now)
        if (c < least) {
          least = c
          victim = s
        }
      }
      if (victim != null && least < mine) {
        victim.choke()
        return { optimistic: false }
      }
    }
    // the optimistic slot: rotated to a newcomer once its holder had it long enough
    const optimistic = open.find(s => s.optimistic) ?? oldestWithoutCredit(open, peer => this.credit(peer, now))
    if (optimistic != null && now - optimistic.since >= this.optimisticMs) {
      optimistic.choke()
      return { optimistic: true }
    }
    return 'total'
  }
}

/** With no optimistic slot marked, the longest-held slot of a peer without credit stands in for it. */
function oldestWithoutCredit (open: UploadSlot[], credit: (peer: string) => number): UploadSlot | undefined {
  return open.filter(s => credit(s.peer) === 0).sort((a, b) => a.since - b.since)[0]
}
