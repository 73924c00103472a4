/**
 * QUIC hole punching for two NATed peers that hold a relayed connection
 * (/fileshare/punch/1.0.0, a libp2p service on every peer with the relay transport).
 *
 * Why not DCUtR: @libp2p/dcutr sends each side's *verified* addresses and has both sides
 * dial. @chainsafe/libp2p-quic 2.1.1 dials from a client-only QUIC endpoint on its own UDP
 * socket (it never accepts a connection) and accepts only on its listener socket, which
 * never sends first. Even given each side's observed dial-socket address, DCUtR's dials
 * punch both NATs and the Initial packets arrive, at a socket that does not accept: no
 * handshake (NAT-lab trace: scripts/bench/dcutr-trace.mjs, BENCHMARKS.md "Why DCUtR
 * cannot punch"; upstream: ChainSafe/js-libp2p-quic#68). So this punch makes every
 * NAT↔NAT direct connection; DCUtR still runs (it upgrades where the other side is public,
 * and will punch once the transport dials from its listener).
 *
 * The punch, A being the side that dialled the relayed connection, B the other:
 *   1. A makes sure the relay (the master) has seen it over QUIC: the master's identify
 *      answer then carries A's observed address `natA:cA`, the public side of A's QUIC
 *      dial socket (A keeps that QUIC connection to the master open; it also keeps the
 *      NAT mapping alive).
 *   2. A sends B that address over the relayed connection.
 *   3. B binds a fresh UDP port P, sends a few datagrams from it to `natA:cA` (this opens
 *      B's NAT for packets from `natA:cA` to P, and a port-preserving NAT keeps P as the
 *      outside port), closes the socket and starts a QUIC listener on P, then answers
 *      with `/ip4/<B's public IP>/udp/P/quic-v1`.
 *   4. A dials it from the same dial socket: A's NAT maps it to `natA:cA` again (port
 *      preserving), B's NAT takes it for a reply to step 3: a direct QUIC connection.
 * A symmetric NAT (a new outside port per destination) on either side breaks step 3 or
 * 4: the peers then stay on the relay. B closes the extra listener when the connection
 * it accepted closes, or when nothing arrived within PUNCH_LISTEN_MS.
 */
import { createSocket } from 'node:dgram'
import type { Connection, PeerId, Stream, Startable, Libp2pEvents, TypedEventTarget, IdentifyResult, ComponentLogger, Logger, Listener } from '@libp2p/interface'
import { serviceCapabilities } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { ipOf, isRelayed } from './addresses.js'
import { PUNCH_DIAL_TIMEOUT_MS, PUNCH_LISTEN_MS, PUNCH_RETRY_MS, PUNCH_FAILED_BACKOFF_MS, PUNCH_WAIT_MS } from './hole-punch-tuning.js'

export { PUNCH_WAIT_MS } from './hole-punch-tuning.js'

export const PROTOCOL_PUNCH = '/fileshare/punch/1.0.0'
/** Punch exchanges on one relayed connection: one try, and one retry PUNCH_RETRY_MS after a failure. */
const MAX_PUNCH_TRIES = 2
const MAX_MESSAGE = 4096
/** Punch listeners one node keeps at once, and punch answers per peer and minute: a stranger cannot make us hold ports or send datagrams at will. */
const MAX_PUNCH_LISTENERS = 16
const ANSWERS_PER_PEER_PER_MINUTE = 6
const RELAY_HOP = '/libp2p/circuit/relay/0.2.0/hop'
const MAX_ADDRS = 4
/** datagrams B sends from its new port to open its NAT (a lost one is covered by the others) */
const OPENING_DATAGRAMS = 3

interface PunchComponents {
  peerId: PeerId
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
  registrar: any
  connectionManager: any
  transportManager: any
  upgrader: any
  peerStore: any
}

export interface HolePunchStats {
  attempts: number
  direct: number
  failed: number
}

export interface HolePunchInit {
  /**
   * how long a new download waits for a punch before it starts on the relay (default
   * PUNCH_WAIT_MS); 0: start on the relay at once and move when the punch succeeds
   */
  waitMs?: number
}

export interface HolePunch {
  /** see HolePunchInit.waitMs */
  readonly waitMs: number
  /**
   * Tries to replace `relayed` (a connection through a relay that we dialled) with a
   * direct QUIC connection. Resolves with the direct connection, or null when the punch
   * failed or was not possible. Concurrent calls for one peer share one attempt.
   */
  punch: (relayed: Connection, signal?: AbortSignal) => Promise<Connection | null>
  /** our address as the relay saw it over QUIC, if known */
  observedQuic: () => Multiaddr | null
  stats: () => HolePunchStats
}

/** The libp2p service factory (`services: { holePunch: holePunch() }`). */
export function holePunch (init: HolePunchInit = {}): (components: PunchComponents) => HolePunch & Startable {
  return (components) => new HolePunchService(components, init)
}

class HolePunchService implements HolePunch, Startable {
  readonly [Symbol.toStringTag] = 'fileshare-hole-punch'
  readonly [serviceCapabilities] = ['@fileshare/hole-punch']
  private readonly log: Logger
  /** what each peer told us it sees as our address: QUIC ones with their port, any for our IP */
  private readonly observed = new Map<string, { addr: Multiaddr, quic: boolean, at: number }>()
  private readonly attempts = new Map<string, Promise<Connection | null>>()
  /** relays we opened a QUIC connection to */
  private readonly preconnected = new Set<string>()
  private readonly tries = new Map<string, number>()
  /** peer → when its last punch (after the retry) failed */
  private readonly failedAt = new Map<string, number>()
  private readonly listeners = new Set<Listener>()
  /** peer → times of its recent punch requests (rate limit) */
  private readonly answered = new Map<string, number[]>()
  private readonly counters: HolePunchStats = { attempts: 0, direct: 0, failed: 0 }
  private started = false

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { observedAddr, connection, peerId, protocols, listenAddrs } = evt.detail
    if (isRelayed(connection.remoteAddr.toString())) return
    // a relay we reach over TCP only: add a QUIC connection now, so that our QUIC address
    // as it sees it is known before a punch needs it
    if (!isQuicAddr(connection.remoteAddr) && protocols.includes(RELAY_HOP) && !this.preconnected.has(peerId.toString())) {
      const quicAddrs = listenAddrs.filter(isQuicAddr)
      if (quicAddrs.length > 0) {
        this.preconnected.add(peerId.toString())
        void this.components.connectionManager.openConnection(quicAddrs.map(a => a.encapsulate(`/p2p/${peerId.toString()}`)), { force: true, signal: AbortSignal.timeout(PUNCH_DIAL_TIMEOUT_MS) })
          .catch((err: any) => { this.log('no QUIC connection to the relay %p: %s', peerId, err?.message ?? err) })
      }
    }
    if (observedAddr == null) return
    const quic = isQuicAddr(connection.remoteAddr)
    const key = peerId.toString()
    const old = this.observed.get(key)
    // a QUIC observation (it has the port of our dial socket) is not replaced by a TCP one
    if (old?.quic === true && !quic) return
    this.observed.set(key, { addr: observedAddr, quic, at: Date.now() })
  }

  readonly waitMs: number

  constructor (private readonly components: PunchComponents, init: HolePunchInit) {
    this.log = components.logger.forComponent('fileshare:hole-punch')
    this.waitMs = init.waitMs ?? PUNCH_WAIT_MS
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL_PUNCH, (stream: Stream, connection: Connection) => {
      void this.answer(stream, connection).catch(err => {
        this.log('punch request from %p failed: %s', connection.remotePeer, err?.message ?? err)
        stream.abort(err)
      })
    }, { runOnLimitedConnection: true, maxInboundStreams: 4, maxOutboundStreams: 4 })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    await this.components.registrar.unhandle(PROTOCOL_PUNCH).catch(() => {})
    for (const l of [...this.listeners]) await l.close().catch(() => {})
    this.listeners.clear()
  }

  isStarted (): boolean {
    return this.started
  }

  stats (): HolePunchStats {
    return { ...this.counters }
  }

  observedQuic (): Multiaddr | null {
    let best: { addr: Multiaddr, at: number } | null = null
    for (const o of this.observed.values()) if (o.quic && (best == null || o.at > best.at)) best = o
    return best?.addr ?? null
  }

  private publicIp (): string | null {
    let best: { addr: Multiaddr, at: number, quic: boolean } | null = null
    for (const o of this.observed.values()) if (best == null || o.at > best.at) best = o
    return best != null ? ipOf(best.addr) ?? null : null
  }

  async punch (relayed: Connection, signal?: AbortSignal): Promise<Connection | null> {
    const key = relayed.remotePeer.toString()
    const running = this.attempts.get(key)
    if (running != null) return await running
    const tries = this.tries.get(relayed.id) ?? 0
    if (tries >= MAX_PUNCH_TRIES || relayed.status !== 'open') return null
    const failed = this.failedAt.get(key)
    if (tries === 0 && failed != null && Date.now() - failed < PUNCH_FAILED_BACKOFF_MS) return null
    this.tries.set(relayed.id, tries + 1)
    if (tries === 0) relayed.addEventListener('close', () => { this.tries.delete(relayed.id) }, { once: true })
    const attempt = this.attempt(relayed, signal).finally(() => { this.attempts.delete(key) })
    this.attempts.set(key, attempt)
    return await attempt
  }

  private async attempt (relayed: Connection, signal?: AbortSignal): Promise<Connection | null> {
    const started = Date.now()
    const peer = relayed.remotePeer
    const existing = this.directTo(peer)
    if (existing != null) return existing
    this.counters.attempts++
    try {
      const mine = await this.ensureObserved(relayed, signal)
      if (mine == null) throw new Error('the relay has not seen us over QUIC')
      this.log('punch to %p: the relay sees us at %a', peer, mine)
      const stream: Stream = await relayed.newStream(PROTOCOL_PUNCH, { runOnLimitedConnection: true, signal: timeout(PUNCH_DIAL_TIMEOUT_MS, signal) })
      let theirs: Multiaddr[]
      try {
        const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
        await lp.write(encode({ addrs: [mine.toString()] }), { signal: timeout(PUNCH_DIAL_TIMEOUT_MS, signal) })
        const answer = decode(await lp.read({ signal: timeout(PUNCH_DIAL_TIMEOUT_MS, signal) }))
        if (answer.error != null) throw new Error(`the other side: ${answer.error}`)
        theirs = answer.addrs.slice(0, MAX_ADDRS).map(a => multiaddr(a)).filter(isQuicAddr)
      } finally {
        await stream.close().catch(() => {})
      }
      if (theirs.length === 0) throw new Error('no address to dial')
      this.log('punch to %p: dialling %s', peer, theirs.map(String).join(' '))
      // straight to the transport: libp2p's dial queue would append this dial to one already
      // running for the peer (its private addresses, which may take seconds to fail)
      const direct: Connection = await Promise.any(theirs.map(async a => await this.components.transportManager.dial(
        a.encapsulate(`/p2p/${peer.toString()}`), { signal: timeout(PUNCH_DIAL_TIMEOUT_MS, signal) }) as Connection))
      if (isRelayed(direct.remoteAddr.toString())) throw new Error('got a relayed connection')
      this.counters.direct++
      this.failedAt.delete(peer.toString())
      this.log('punched through to %p in %d ms via %a', peer, Date.now() - started, direct.remoteAddr)
      return direct
    } catch (err: any) {
      this.counters.failed++
      this.log('no punch to %p after %d ms: %s', peer, Date.now() - started, err?.message ?? err)
      if ((this.tries.get(relayed.id) ?? MAX_PUNCH_TRIES) < MAX_PUNCH_TRIES && this.started) {
        // once more in the background (a lost datagram, a NAT mapping that was not ready)
        setTimeout(() => {
          if (relayed.status === 'open' && this.directTo(peer) == null) void this.punch(relayed).catch(() => {})
        }, PUNCH_RETRY_MS).unref()
      } else {
        this.failedAt.set(peer.toString(), Date.now())
      }
      return this.directTo(peer)
    }
  }

  /** Our QUIC address as the relay sees it; connects to the relay over QUIC first when needed. */
  private async ensureObserved (relayed: Connection, signal?: AbortSignal): Promise<Multiaddr | null> {
    const relay = relayPeerOf(relayed.remoteAddr)
    const seen = (): Multiaddr | null => {
      const o = relay != null ? this.observed.get(relay) : undefined
      return o?.quic === true ? o.addr : this.observedQuic()
    }
    if (seen() != null || relay == null) return seen()
    const stored = await this.components.peerStore.get(peerIdFromString(relay)).catch(() => null)
    const quicAddrs: Multiaddr[] = (stored?.addresses ?? []).map((a: any) => a.multiaddr as Multiaddr).filter(isQuicAddr)
    if (quicAddrs.length === 0) return null
    const identified = new Promise<void>(resolve => {
      const t = setTimeout(done, PUNCH_DIAL_TIMEOUT_MS)
      const events = this.components.events
      const on = (evt: CustomEvent<IdentifyResult>): void => { if (evt.detail.peerId.toString() === relay && isQuicAddr(evt.detail.connection.remoteAddr)) done() }
      events.addEventListener('peer:identify', on)
      function done (): void { clearTimeout(t); events.removeEventListener('peer:identify', on); resolve() }
    })
    await this.components.connectionManager.openConnection(quicAddrs.map(a => a.toString().includes('/p2p/') ? a : a.encapsulate(`/p2p/${relay}`)), { force: true, signal: timeout(PUNCH_DIAL_TIMEOUT_MS, signal) })
    await identified
    return seen()
  }

  /** B: opens its NAT towards A's observed address from a new port, listens there, answers. */
  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE })
    const request = decode(await lp.read({ signal: AbortSignal.timeout(PUNCH_DIAL_TIMEOUT_MS) }))
    const targets = request.addrs.slice(0, MAX_ADDRS).map(a => multiaddr(a)).filter(isQuicAddr)
    const ip = this.publicIp()
    const transport = this.components.transportManager.dialTransportForMultiaddr(multiaddr('/ip4/127.0.0.1/udp/1/quic-v1'))
    const key = connection.remotePeer.toString()
    const now = Date.now()
    const recent = (this.answered.get(key) ?? []).filter(t => now - t < 60_000)
    recent.push(now)
    this.answered.set(key, recent)
    if (this.answered.size > 1000) this.answered.clear()
    const reason = !isRelayed(connection.remoteAddr.toString())
      ? 'punching is for relayed connections'
      : recent.length > ANSWERS_PER_PEER_PER_MINUTE || this.listeners.size >= MAX_PUNCH_LISTENERS
        ? 'too many punch requests, later'
        : targets.length === 0 ? 'no QUIC address to punch towards' : ip == null ? 'our public address is unknown' : transport == null ? 'no QUIC transport' : null
    if (reason != null) {
      await lp.write(encode({ addrs: [], error: reason }))
      await stream.close()
      return
    }
    const port = await openNat(targets)
    const listener: Listener = transport.createListener({ upgrader: this.components.upgrader })
    await listener.listen(multiaddr(`/ip4/0.0.0.0/udp/${port}/quic-v1`))
    this.track(listener, connection.remotePeer)
    await lp.write(encode({ addrs: [`/ip${ip!.includes(':') ? 6 : 4}/${ip!}/udp/${port}/quic-v1`] }))
    await stream.close()
    this.log('punch for %p: listening on udp/%d, opened towards %s', connection.remotePeer, port, targets.map(String).join(' '))
  }

  /** Closes a punch listener when the connection it accepted closes, or when none came. */
  private track (listener: Listener, peer: PeerId): void {
    this.listeners.add(listener)
    const events = this.components.events
    let served = false
    const accepted = (): number => (listener as any).state?.connections?.size ?? 0
    const close = (): void => {
      clearTimeout(idle)
      events.removeEventListener('connection:open', onOpen)
      events.removeEventListener('connection:close', onClose)
      this.listeners.delete(listener)
      void listener.close().catch(() => {})
    }
    const idle = setTimeout(() => { if (accepted() === 0) close() }, PUNCH_LISTEN_MS)
    idle.unref()
    const onOpen = (evt: CustomEvent<Connection>): void => {
      if (evt.detail.remotePeer.equals(peer) && isQuicAddr(evt.detail.remoteAddr)) served = true
    }
    const onClose = (evt: CustomEvent<Connection>): void => {
      if (!served || !evt.detail.remotePeer.equals(peer)) return
      setImmediate(() => { if (accepted() === 0) close() })
    }
    events.addEventListener('connection:open', onOpen)
    events.addEventListener('connection:close', onClose)
  }

  private directTo (peer: PeerId): Connection | null {
    return this.components.connectionManager.getConnections(peer).find((c: Connection) => c.status === 'open' && !isRelayed(c.remoteAddr.toString())) ?? null
  }
}

/** Binds a UDP port, sends a few datagrams from it to each target, frees it again; returns the port. */
async function openNat (targets: Multiaddr[]): Promise<number> {
  const socket = createSocket('udp4')
  socket.on('error', () => {}) // an ICMP error for a datagram is expected and harmless
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, () => { socket.off('error', reject); resolve() })
  })
  const port = socket.address().port
  const payload = Buffer.from('fileshare-punch')
  for (let i = 0; i < OPENING_DATAGRAMS; i++) {
    for (const t of targets) {
      const { host, port: p } = hostPort(t)
      await new Promise<void>(resolve => { socket.send(payload, p, host, () => { resolve() }) })
    }
  }
  await new Promise<void>(resolve => { socket.close(() => { resolve() }) })
  return port
}

function hostPort (ma: Multiaddr): { host: string, port: number } {
  const parts = ma.getComponents()
  return { host: parts[0].value ?? '', port: Number(parts.find(c => c.name === 'udp')?.value) }
}

function isQuicAddr (ma: Multiaddr): boolean {
  return !isRelayed(ma.toString()) && /^\/ip[46]\/[^/]+\/udp\/\d+\/quic-v1(\/p2p\/[^/]+)?$/.test(ma.toString())
}

/** The relay's PeerId in `<relay addr>/p2p/<relay>/p2p-circuit/p2p/<peer>`. */
function relayPeerOf (ma: Multiaddr): string | null {
  const text = ma.toString()
  const cut = text.indexOf('/p2p-circuit')
  if (cut < 0) return null
  const m = /\/p2p\/([^/]+)$/.exec(text.slice(0, cut))
  return m?.[1] ?? null
}

interface PunchMessage { addrs: string[], error?: string }

function encode (message: PunchMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message))
}

function decode (data: { subarray: () => Uint8Array }): PunchMessage {
  const value = JSON.parse(new TextDecoder().decode(data.subarray()))
  if (value == null || !Array.isArray(value.addrs) || !value.addrs.every((a: unknown) => typeof a === 'string')) throw new Error('bad punch message')
  return { addrs: value.addrs, error: typeof value.error === 'string' ? value.error.slice(0, 200) : undefined }
}

function timeout (ms: number, signal?: AbortSignal): AbortSignal {
  return signal != null ? AbortSignal.any([AbortSignal.timeout(ms), signal]) : AbortSignal.timeout(ms)
}
