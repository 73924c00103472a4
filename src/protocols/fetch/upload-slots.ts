/**
 * Upload slots of a sharing peer: how many fetch streams may be sending data at once, in
 * total, per PeerId and per remote IP. A stream takes a slot when it has a request with a
 * payload to answer and gives it back once its write buffer is empty and no request is
 * waiting (server.ts), so a slot stands for data being sent, never for a stream that idles.
 *
 * Per PeerId: one downloader cannot take every slot with many streams. Per IP: one host
 * cannot either with many keys; IPv6 addresses count per /64 (what one host or household
 * is usually given). Relayed connections have no usable remote IP (their address is the
 * relay's): they count per PeerId and in the total only.
 *
 * When the total is exhausted, choker.ts (a subclass overriding `admit`) may choke a holder
 * for the requester: tit-for-tat and one rotating optimistic slot. A choked slot no longer
 * counts; its stream answers its next request BUSY and ends (server.ts).
 */
import type { Connection } from '@libp2p/interface'
import { isRelayed } from '../../node/addresses.js'

export interface UploadSlotLimits {
  /** slots in total */
  total: number
  /** slots one PeerId may hold */
  perPeer: number
  /** slots one remote IP (IPv6: one /64) may hold, whatever the keys */
  perIp: number
}

/** Why a slot was refused ('choked': the stream's slot was given to another peer). */
export type SlotRefusal = 'total' | 'peer' | 'ip' | 'choked'

/** A slot is granted; `optimistic` marks the choker's optimistic slot. */
export interface Admission {
  optimistic: boolean
}

export class UploadSlot {
  private released = false
  private _choked = false

  constructor (private readonly owner: UploadSlots, readonly peer: string, readonly ip: string | null, readonly since: number, readonly optimistic = false) {}

  get held (): boolean {
    return !this.released
  }

  /** another peer took this slot: its stream answers the next request BUSY and ends */
  get choked (): boolean {
    return this._choked
  }

  /** Gives the slot to another peer: released now, marked choked for its stream. */
  choke (): void {
    if (this.released) return
    this._choked = true
    this.release()
  }

  /** Gives the slot back (idempotent). */
  release (): void {
    if (this.released) return
    this.released = true
    this.owner.returned(this)
  }
}

export class UploadSlots {
  private readonly held = new Set<UploadSlot>()
  private readonly byPeer = new Map<string, number>()
  private readonly byIp = new Map<string, number>()

  constructor (readonly limits: UploadSlotLimits) {}

  /** Slots held right now. */
  get active (): number {
    return this.held.size
  }

  /** Slots `peer` holds. */
  heldBy (peer: string): number {
    return this.byPeer.get(peer) ?? 0
  }

  /** Slots held from `ip` (as returned by ipKey). */
  heldFrom (ip: string): number {
    return this.byIp.get(ip) ?? 0
  }

  /** The slots held, oldest first. */
  holders (): UploadSlot[] {
    return [...this.held]
  }

  /** A slot for `peer` at `ip` (null: relayed / unknown), or why there is none. */
  acquire (peer: string, ip: string | null, now = Date.now()): UploadSlot | SlotRefusal {
    const admitted = this.admit(peer, ip, now)
    if (typeof admitted === 'string') return admitted
    const slot = new UploadSlot(this, peer, ip, now, admitted.optimistic)
    this.held.add(slot)
    this.byPeer.set(peer, this.heldBy(peer) + 1)
    if (ip != null) this.byIp.set(ip, this.heldFrom(ip) + 1)
    return slot
  }

  /** Whether `peer` at `ip` may take one more slot, else the limit it hits (per PeerId and IP first, then the total). */
  protected admit (peer: string, ip: string | null, _now: number): Admission | SlotRefusal {
    if (this.heldBy(peer) >= this.limits.perPeer) return 'peer'
    if (ip != null && this.heldFrom(ip) >= this.limits.perIp) return 'ip'
    if (this.held.size >= this.limits.total) return 'total'
    return { optimistic: false }
  }

  /** Called by UploadSlot.release(). */
  returned (slot: UploadSlot): void {
    if (!this.held.delete(slot)) return
    decrement(this.byPeer, slot.peer)
    if (slot.ip != null) decrement(this.byIp, slot.ip)
  }
}

function decrement (map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1
  if (n <= 0) map.delete(key)
  else map.set(key, n)
}

/**
 * The key a connection's remote IP counts under: the IPv4 address, the /64 of an IPv6
 * address, or null for a relayed connection (or an address without an IP).
 */
export function ipKey (connection: Pick<Connection, 'remoteAddr'>): string | null {
  const addr = connection.remoteAddr
  if (isRelayed(addr.toString())) return null
  const first = addr.getComponents()[0]
  if (first == null || first.value == null) return null
  if (first.name === 'ip4') return first.value
  if (first.name === 'ip6') return ipv6Prefix64(first.value)
  return null
}

/** The first four groups of an IPv6 address (`2001:db8:1:2::/64`); an IPv4-mapped address stays IPv4. */
export function ipv6Prefix64 (ip: string): string {
  const lower = ip.toLowerCase().replace(/%.*$/, '')
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (mapped != null) return mapped[1]
  const [head, tail] = lower.includes('::') ? lower.split('::') : [lower, null]
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail == null || tail === '' ? [] : tail.split(':')
  const missing = 8 - headGroups.length - tailGroups.length
  const groups = tail == null ? headGroups : [...headGroups, ...Array(Math.max(0, missing)).fill('0'), ...tailGroups]
  return groups.slice(0, 4).map(g => g.replace(/^0+(?=.)/, '')).join(':') + '::/64'
}
