/**
 * Reachability of a sharing peer, and moving relayed connections to direct ones.
 *
 * ReachabilityManager (sharing peers with a master):
 *   1. asks the master to dial its listen addresses back (/fileshare/dialback/1.0.0);
 *      reached → 'public', done;
 *   2. otherwise reserves a slot on the master's circuit relay by listening on
 *      `<master>/p2p-circuit` → 'relayed' with the /p2p-circuit addresses. identify push
 *      hands the new addresses to the master, whose lookups return them to downloaders;
 *   3. when the reservation goes away (the master restarted, a refresh failed) it reserves
 *      again; every failure is retried with exponential backoff and never stops the peer.
 *   The libp2p reservation store refreshes a held reservation before it expires.
 *   Config `reachability`: 'auto' (the above), 'public' (never reserve), 'relayed' (always).
 *
 * DirectUpgrader (every peer): when a connection to some peer arrives through a relay and
 * identify tells us that peer's direct addresses, dial them once. A NATed provider thus
 * dials a public downloader back (connection reversal), and a downloader reaches a
 * provider that was only found through the relay; either way both ends get a direct
 * connection, which new streams use from then on.
 */
import type { Connection, IdentifyResult, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import { MASTER_RETRY_MIN_MS, MASTER_RETRY_MAX_MS, DIRECT_UPGRADE_TIMEOUT_MS, RELAY_ADDR_CONFIRM_MS } from './tuning.js'
import type { FileShareNode } from '../node/create-node.js'
import { isRelayed, isPlainDirect, pathOf, connectionPath, withPeerId, withoutPeerId } from '../node/addresses.js'
import type { MasterClient } from './master-client.js'
import { OneShotTimer } from '../util/one-shot-timer.js'
import { Backoff } from '../util/backoff.js'
import type { ReachabilityMode, ReachabilityState } from '../types.js'

export type { Reachability, ReachabilityMode, ReachabilityState } from '../types.js'

const log = logger('fileshare:peer:reachability')

export class ReachabilityManager {
  private state: ReachabilityState = { reachability: 'unknown', addrs: [] }
  private readonly listeners = new Set<(state: ReachabilityState) => void>()
  private stopped = false
  private readonly timer = new OneShotTimer(() => { void this.run() })
  private running: Promise<void> | null = null
  private readonly backoff = new Backoff({ minMs: MASTER_RETRY_MIN_MS, maxMs: MASTER_RETRY_MAX_MS })
  /** the dial-back verdict; null until the master answered */
  private isPublic: boolean | null = null
  private reserving = false
  /** a check or reservation attempt failed since start (the master is away, or refused) */
  private failedOnce = false
  private readonly settleWaiters = new Set<() => void>()
  private readonly onAddrsChanged = (): void => { this.refresh() }
  /** a public peer lost the master (a restart): check again once it is back */
  private recheck = false
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    if (!evt.detail.equals(this.master.peer)) return
    if (this.mode === 'auto' && this.isPublic === true) this.recheck = true
    this.refresh()
  }

  /**
   * The master is back after a restart (or a network change): a peer that was public asks
   * for a dial-back again (its address or its NAT may have changed meanwhile; a peer no
   * longer reached reserves a relay slot like any NATed one).
   */
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    if (!evt.detail.equals(this.master.peer) || !this.recheck || this.stopped) return
    this.recheck = false
    log('the master is back: checking reachability again')
    this.isPublic = null
    if (!this.timer.pending && this.running == null) this.schedule(0)
  }

  constructor (private readonly node: FileShareNode, private readonly master: MasterClient,
    private readonly mode: ReachabilityMode = 'auto', private readonly onError?: (message: string) => void) {}

  start (): void {
    this.node.addEventListener('self:peer:update', this.onAddrsChanged)
    this.node.addEventListener('transport:listening', this.onAddrsChanged)
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    this.node.addEventListener('peer:connect', this.onConnect)
    if (this.mode === 'public') {
      this.isPublic = true
      this.node.services.publicAddresses.confirm(this.directAddrs())
      this.set({ reachability: 'public', addrs: this.directAddrs().map(String) })
      return
    }
    if (this.mode === 'relayed') this.isPublic = false
    this.schedule(0)
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.timer.cancel()
    this.node.removeEventListener('self:peer:update', this.onAddrsChanged)
    this.node.removeEventListener('transport:listening', this.onAddrsChanged)
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.node.removeEventListener('peer:connect', this.onConnect)
    await this.running?.catch(() => {})
  }

  get current (): ReachabilityState {
    return { reachability: this.state.reachability, addrs: [...this.state.addrs] }
  }

  onChange (listener: (state: ReachabilityState) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * Resolves with the state once it is 'public' or 'relayed', or once an attempt failed
   * (retries go on; later changes come through onChange), or after `timeoutMs`.
   */
  async settled (timeoutMs: number): Promise<ReachabilityState> {
    const done = (): boolean => this.failedOnce || this.stopped || this.state.reachability === 'public' || this.state.reachability === 'relayed'
    if (done()) return this.current
    await new Promise<void>(resolve => {
      const timer = setTimeout(finish, timeoutMs)
      const waiter = (): void => { if (done()) finish() }
      const settleWaiters = this.settleWaiters
      settleWaiters.add(waiter)
      function finish (): void {
        clearTimeout(timer)
        settleWaiters.delete(waiter)
        resolve()
      }
    })
    return this.current
  }

  /** Addresses changed (a reservation came or went) or the master left: re-derive the state. */
  private refresh (): void {
    if (this.stopped || this.isPublic !== false) return
    const relayAddrs = this.relayAddrs()
    if (relayAddrs.length > 0) {
      // during a reservation, 'relayed' waits until the master lists the address
      if (!this.reserving) this.set({ reachability: 'relayed', addrs: relayAddrs })
    } else {
      this.set({ reachability: 'private', addrs: [] })
      if (!this.timer.pending && this.running == null) this.schedule(this.backoff.peek())
    }
  }

  private schedule (delayMs: number): void {
    if (!this.stopped) this.timer.start(delayMs)
  }

  private async run (): Promise<void> {
    if (this.running != null || this.stopped) return
    this.running = this.step().then(() => {
      this.backoff.reset()
    }, (err: any) => {
      const message = err?.message ?? String(err)
      this.failedOnce = true
      for (const w of [...this.settleWaiters]) w()
      const delay = this.backoff.next()
      log('reachability step failed, retrying in %d ms: %s', delay, message)
      this.onError?.(`relay reservation: ${message} (retrying in ${Math.round(delay / 100) / 10} s)`)
      this.schedule(delay)
    }).finally(() => { this.running = null })
    await this.running
  }

  private async step (): Promise<void> {
    if (this.isPublic == null) {
      const addrs = this.directAddrs()
      const { reachable, observed } = addrs.length > 0 ? await this.master.dialBack(addrs) : { reachable: [], observed: null }
      this.isPublic = reachable.length > 0
      log('dial-back: %s (observed as %s)', this.isPublic ? 'public' : 'not reachable', observed?.toString() ?? '?')
      if (this.isPublic) {
        // verified: libp2p announces a public address only once it is confirmed
        this.node.services.publicAddresses.confirm(reachable)
        this.set({ reachability: 'public', addrs: reachable.map(String) })
        return
      }
    }
    if (this.isPublic) return
    if (this.relayAddrs().length > 0) {
      this.refresh()
      return
    }
    this.set({ reachability: 'private', addrs: [] })
    this.reserving = true
    try {
      await this.reserve()
      if (this.relayAddrs().length === 0) throw new Error(`the relay ${this.master.addr.toString()} granted no reservation`)
      await this.awaitRegistered()
    } finally {
      this.reserving = false
    }
    this.refresh()
  }

  /**
   * 'relayed' means findable: identify push carries the new address to the master (after
   * libp2p's 1 s address debounce), and the master's own answer confirms it has it.
   */
  private async awaitRegistered (): Promise<void> {
    const started = Date.now()
    const deadline = started + RELAY_ADDR_CONFIRM_MS
    for (let pushes = 0; !this.stopped && Date.now() < deadline; pushes++) {
      const known = await this.master.peerAddrs(this.node.peerId).catch(() => [])
      if (known.some(a => isRelayed(a.toString()))) {
        log('the master lists our relayed address after %d ms (%d extra identify pushes)', Date.now() - started, pushes)
        return
      }
      // push again: an identify answer racing the reservation may have overwritten it
      await this.node.services.identifyPush.push().catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    log('the master does not list our relayed address yet')
  }

  /** Listens on `<master>/p2p-circuit` (node/relay-reservations.ts); success is checked by the caller. */
  private async reserve (): Promise<void> {
    const reservations = this.node.services.relayReservations
    if (reservations == null) throw new Error('this node has no circuit relay transport')
    await reservations.reserve(multiaddr(`${this.master.addr.toString()}/p2p-circuit`))
  }

  private relayAddrs (): string[] {
    return this.node.getMultiaddrs().map(String).filter(isRelayed)
  }

  /** Our plain TCP and QUIC listen addresses (without /p2p, verified or not), the candidates for a dial-back. */
  private directAddrs (): Multiaddr[] {
    return this.node.services.publicAddresses.listenAddrs().filter(isPlainDirect)
  }

  private set (state: ReachabilityState): void {
    const same = state.reachability === this.state.reachability && state.addrs.join() === this.state.addrs.join()
    if (same) return
    this.state = state
    log('reachability %s %s', state.reachability, state.addrs.join(' '))
    for (const listener of this.listeners) listener(this.current)
    for (const w of [...this.settleWaiters]) w()
  }
}

export class DirectUpgrader {
  /** relayed connections already tried (by connection id) */
  private readonly tried = new Set<string>()
  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => { this.maybeUpgrade(evt.detail) }

  constructor (private readonly node: FileShareNode) {}

  start (): void {
    this.node.addEventListener('peer:identify', this.onIdentify)
  }

  stop (): void {
    this.node.removeEventListener('peer:identify', this.onIdentify)
  }

  private maybeUpgrade ({ peerId, listenAddrs, connection }: IdentifyResult): void {
    if (pathOf(connection) === 'direct' || this.tried.has(connection.id)) return
    if (connectionPath(this.node, peerId) === 'direct') return
    this.tried.add(connection.id)
    connection.addEventListener('close', () => { this.tried.delete(connection.id) }, { once: true })
    const addrs = listenAddrs
      .filter(a => !isRelayed(a.toString()) && a.getComponents().some(c => c.name === 'tcp'))
      .map(a => withPeerId(a, peerId))
    if (addrs.length === 0) return
    log('relayed connection to %p: trying its %d direct addresses', peerId, addrs.length)
    this.node.dial(addrs, { signal: AbortSignal.timeout(DIRECT_UPGRADE_TIMEOUT_MS) }).then((direct: Connection) => {
      log('direct connection to %p via %s', peerId, direct.remoteAddr.toString())
    }, (err: any) => {
      log('no direct connection to %p: %s', peerId, err?.message ?? err)
    })
  }
}
