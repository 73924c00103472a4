/**
 * A key that keeps asking after RATE_LIMITED is slowed at its socket.
 *
 * A refused request is cheap in SQLite but not in libp2p: it still costs the master a
 * stream, a protocol negotiation and several encrypted frames, and a flood of keys that
 * retry at once keeps the master's event loop busy with refusals (the flood bench: most of
 * the master's time under a flood from 200 keys went to answering them). So each key may
 * be refused `tolerance` times in a row (a token bucket refilling one refusal a second), and
 * the keys of one IP together IP_FACTOR times that (IP_FACTOR a second: many keys of one
 * IP, each refused now and then, flood as much as one key refused all the time); past
 * either, the refused key's inbound connections stop being read for a pause (the socket
 * is paused: TCP backpressure keeps its next requests in the sender's kernel, which costs
 * the master nothing), and pauses that follow each other without the key calming down
 * double, up to MAX_PAUSE_FACTOR times. A connection the key opens during a pause is paused
 * at once, and while an IP is past its tolerance its new connections are admitted at
 * PENALIZED_HANDSHAKES_PER_SECOND at most, refused before the handshake (a paused key that
 * reconnects, or a fresh key, would otherwise cost a noise handshake and an identify
 * exchange each). An honest client backs off after RATE_LIMITED and never gets here; only a key
 * that was refused is paused, and a quiet key of a busy IP (a household behind one NAT) is
 * not refused in the first place (fair-limiter.ts, index-lane.ts).
 */
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { ipOf } from '../node/addresses.js'

const log = logger('fileshare:master:penalty')

/** Consecutive pauses grow to at most this many times `pauseMs`. */
const MAX_PAUSE_FACTOR = 16
/** Refusals a key earns back per second. */
const REFILL_PER_SECOND = 1
/** The keys of one IP together may be refused this many times a key's tolerance (and earn as many back a second). */
const IP_FACTOR = 4
/** New inbound connections per second from an IP past its tolerance (refused before the handshake beyond it), and the burst. */
const PENALIZED_HANDSHAKES_PER_SECOND = 2
const PENALIZED_HANDSHAKE_BURST = 4
/** A key's record is forgotten when not refused for this long (its bucket is full again), ms. */
const FORGET_MS = 120_000

export interface RefusalPenaltyOptions {
  /** refusals a key may get in a row before its connections are paused (0 = never pause) */
  tolerance: number
  /** the first pause, ms (doubling while the key keeps being refused right after) */
  pauseMs: number
  /** keys never paused: those holding a relay slot (their connection carries other peers' downloads) */
  exempt?: (peer: PeerId) => boolean
}

interface Record {
  tokens: number
  at: number
  /** the pause in force ends at (ms since the epoch), 0 when none */
  until: number
  /** the last pause's length, ms */
  lastPauseMs: number
}

/** What the penalty needs of a connection's raw socket stream (libp2p's MultiaddrConnection: not in the public Connection type). */
interface Pausable {
  pause: () => void
  resume: () => void
  status?: string
}

export class RefusalPenalty {
  private readonly keys = new Map<string, Record>()
  private readonly ips = new Map<string, { tokens: number, at: number, handshakes: number, handshakesAt: number }>()
  /** connections refused before the handshake so far (an IP past its tolerance) */
  handshakesRefused = 0
  private readonly paused = new Map<Connection, NodeJS.Timeout>()
  private node: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getConnections'> | null = null
  private lastForget = Date.now()
  private readonly onOpen = (evt: CustomEvent<Connection>): void => { this.opened(evt.detail) }
  private readonly onClose = (evt: CustomEvent<Connection>): void => { this.forgetConnection(evt.detail) }
  /** pauses imposed so far */
  pauses = 0

  constructor (private readonly options: RefusalPenaltyOptions) {}

  start (node: Pick<Libp2p, 'addEventListener' | 'removeEventListener' | 'getConnections'>): void {
    this.node = node
    node.addEventListener('connection:open', this.onOpen)
    node.addEventListener('connection:close', this.onClose)
  }

  stop (): void {
    this.node?.removeEventListener('connection:open', this.onOpen)
    this.node?.removeEventListener('connection:close', this.onClose)
    for (const [c, timer] of this.paused) {
      clearTimeout(timer)
      resume(c)
    }
    this.paused.clear()
    this.keys.clear()
  }

  /** Whether `key` is paused now. */
  isPaused (key: string): boolean {
    return (this.keys.get(key)?.until ?? 0) > Date.now()
  }

  /** A request of `connection`'s key was answered RATE_LIMITED (call once the answer is on its way). */
  refused (connection: Connection): void {
    if (this.options.tolerance <= 0 || connection.direction !== 'inbound') return
    const key = connection.remotePeer.toString()
    const now = Date.now()
    this.forget(now)
    const r = this.keys.get(key) ?? { tokens: this.options.tolerance, at: now, until: 0, lastPauseMs: 0 }
    r.tokens = Math.min(this.options.tolerance, r.tokens + (now - r.at) * REFILL_PER_SECOND / 1000) - 1
    r.at = now
    this.keys.set(key, r)
    const ip = ipOf(connection.remoteAddr)
    let ipTokens = 0
    if (ip != null) {
      const cap = this.options.tolerance * IP_FACTOR
      const b = this.ips.get(ip) ?? { tokens: cap, at: now, handshakes: PENALIZED_HANDSHAKE_BURST, handshakesAt: now }
      // in debt by one bucket at most: an IP that calms down is trusted again within seconds
      b.tokens = Math.max(-cap, Math.min(cap, b.tokens + (now - b.at) * REFILL_PER_SECOND * IP_FACTOR / 1000) - 1)
      b.at = now
      this.ips.set(ip, b)
      ipTokens = b.tokens
    }
    if ((r.tokens >= 0 && ipTokens >= 0) || r.until > now || this.options.exempt?.(connection.remotePeer) === true) return
    // a key that calmed down since its last pause (its bucket refilled) starts again from pauseMs
    const calm = now - r.until > this.options.tolerance * 1000 / REFILL_PER_SECOND
    const ms = r.lastPauseMs === 0 || calm ? this.options.pauseMs : Math.min(r.lastPauseMs * 2, this.options.pauseMs * MAX_PAUSE_FACTOR)
    r.lastPauseMs = ms
    // ±25 %: the keys of a flood paused together would otherwise resume together, a burst of their waiting requests
    const jittered = Math.round(ms * (0.75 + Math.random() * 0.5))
    r.until = now + jittered
    r.tokens = Math.max(0, r.tokens)
    this.pauses++
    if (this.pauses % 100 === 1) log('pausing the connections of %s (%s) for %d ms: refused past the tolerance of the key or of its IP (%d pauses so far)', key, ip, jittered, this.pauses)
    for (const c of this.node?.getConnections(connection.remotePeer) ?? [connection]) this.pause(c, jittered)
  }

  /**
   * The connection gater's check before the handshake: whether a new connection from `ip`
   * is refused because the IP is past its tolerance and over PENALIZED_HANDSHAKES_PER_SECOND.
   */
  denyHandshake (ip: string | undefined): boolean {
    if (ip == null || this.options.tolerance <= 0) return false
    const b = this.ips.get(ip)
    if (b == null) return false
    const now = Date.now()
    const cap = this.options.tolerance * IP_FACTOR
    if (Math.min(cap, b.tokens + (now - b.at) * REFILL_PER_SECOND * IP_FACTOR / 1000) >= 0) return false
    b.handshakes = Math.min(PENALIZED_HANDSHAKE_BURST, b.handshakes + (now - b.handshakesAt) * PENALIZED_HANDSHAKES_PER_SECOND / 1000)
    b.handshakesAt = now
    if (b.handshakes >= 1) {
      b.handshakes--
      return false
    }
    this.handshakesRefused++
    return true
  }

  private opened (c: Connection): void {
    if (c.direction !== 'inbound') return
    const r = this.keys.get(c.remotePeer.toString())
    const left = (r?.until ?? 0) - Date.now()
    if (left > 0) this.pause(c, left)
  }

  private pause (c: Connection, ms: number): void {
    if (c.direction !== 'inbound' || c.status !== 'open') return
    const raw = pausable(c)
    if (raw == null) return
    const old = this.paused.get(c)
    if (old != null) clearTimeout(old)
    else {
      try {
        raw.pause()
      } catch {
        return
      }
    }
    const timer = setTimeout(() => {
      this.paused.delete(c)
      resume(c)
    }, ms)
    timer.unref()
    this.paused.set(c, timer)
  }

  private forgetConnection (c: Connection): void {
    const timer = this.paused.get(c)
    if (timer != null) clearTimeout(timer)
    this.paused.delete(c)
  }

  private forget (now: number): void {
    if (now - this.lastForget < FORGET_MS) return
    this.lastForget = now
    for (const [key, r] of this.keys) if (now - r.at > FORGET_MS && r.until < now) this.keys.delete(key)
    for (const [ip, b] of this.ips) if (now - b.at > FORGET_MS) this.ips.delete(ip)
  }
}

/** The connection's raw socket stream, if it can be paused. */
function pausable (c: Connection): Pausable | undefined {
  const raw = (c as unknown as { maConn?: Partial<Pausable> }).maConn
  return typeof raw?.pause === 'function' && typeof raw?.resume === 'function' ? raw as Pausable : undefined
}

function resume (c: Connection): void {
  const raw = pausable(c)
  if (raw == null || c.status !== 'open') return
  try {
    raw.resume()
  } catch {}
}
