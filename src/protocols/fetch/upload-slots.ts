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
 * The acquire/release API is the seam a choker can extend (subclass `admit`, or look at
 * `holders()`), e.g. to reserve slots for peers that upload back.
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

/** Why a slot was refused. */
export type SlotRefusal = 'total' | 'peer' | 'ip'

export class UploadSlot {
  private released = false

  constructor (private readonly owner: UploadSlots, readonly peer: string, readonly ip: string | null, readonly since: number) {}

  get held (): boolean {
    return !this.released
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
  acquire (peer: string, ip: string | null): UploadSlot | SlotRefusal {
    const refused = this.admit(peer, ip)
    if (refused != null) return refused
    const slot = new UploadSlot(this, peer, ip, Date.now())
    this.held.add(slot)
    this.byPeer.set(peer, this.heldBy(peer) + 1)
    if (ip != null) this.byIp.set(ip, this.heldFrom(ip) + 1)
    return slot
  }

  /** null when `peer` at `ip` may take one more slot, else the limit it hits. */
  protected admit (peer: string, ip: string | null): SlotRefusal | null {
    if (this.held.size >= this.limits.total) return 'total'
    if (this.heldBy(peer) >= this.limits.perPeer) return 'peer'
    if (ip != null && this.heldFrom(ip) >= this.limits.perIp) return 'ip'
    return null
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
