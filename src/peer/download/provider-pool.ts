/**
 * The providers of one download: who is dialled, re-dialled, retried or given up.
 *
 * 1. Every provider is dialled at once at the start (`dialEarly`); the manifest race and
 *    the first workers take those sessions (`sessionFor`), the rest are closed at the end.
 * 2. Connections (see dial.ts): direct first, the relay as fallback. A worker on a relayed
 *    connection moves to a direct one as soon as one exists, and a worker on a direct QUIC
 *    connection (a punched one) to a direct TCP one (`moveToDirect`): new requests go to
 *    a session on it, the old session finishes what it has in flight and is closed, then
 *    a relayed connection when nothing else uses it.
 * 3. A provider that answered BUSY is dialled again after busyDelay() (BUSY_RETRY_MS,
 *    doubling up to BUSY_RETRY_MAX_MS: protocols/fetch), at most BUSY_MAX_RETRIES times per download.
 * 4. A provider whose connection dropped (a relay limit, a restart) is re-dialled, up to
 *    PROVIDER_REDIALS times in a row without a verified chunk in between, before it is
 *    given up.
 * 5. Through a master, the provider list is asked again every PROVIDER_REFRESH_MS: new
 *    providers join, dropped ones come back after PROVIDER_RETRY_MS, liars never.
 * Which chunk a provider gets is not decided here (scheduler.ts).
 */
import type { Connection } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { toFileShareError } from '../../errors.js'
import type { FileShareNode } from '../../node/create-node.js'
import { connectionPath, pathOf, type PathKind } from '../../node/addresses.js'
import { FetchSession, busyDelay } from '../../protocols/fetch/client.js'
import { openFetchStream, openFreshFetchStream, isStreamOpenFailure, closeIdleRelayed, betterConnection, relayBytesLeft } from './dial.js'
import { PROVIDER_REDIALS, PROVIDER_RETRY_MS, PARTIAL_PROVIDER_RETRY_MS, BUSY_MAX_RETRIES } from './tuning.js'
import type { ProviderRef } from './types.js'

export type { ProviderRef } from './types.js'

/** A failed re-dial is tried again after this long. */
const REDIAL_RETRY_MS = 250
/** A relayed connection's renewal that failed is tried again after this long. */
const RELAY_RENEW_RETRY_MS = 1_000

const log = logger('fileshare:peer:download')

/** A provider being downloaded from: its current session and the path it runs on. */
export interface ProviderLink {
  readonly peer: string
  readonly ref: ProviderRef
  session: FetchSession
  /** the path of `session`'s connection */
  path: PathKind
  /** a move to a direct connection is under way */
  moving?: boolean
}

/** What the pool asks of the download it serves. */
export interface PoolHost {
  /** the download has ended: no more dials */
  ended: () => boolean
  /** `link` is the provider's current worker */
  current: (link: ProviderLink) => boolean
  /** `peer` has a worker now */
  working: (peer: string) => boolean
  /** room for one more partial provider (MAX_PARTIAL_PROVIDERS) */
  wantsPartial: () => boolean
  /** a session to `provider` opened: put it to work */
  start: (provider: ProviderRef, session: FetchSession) => void
  /** a dial or a retry ended: the download may have no provider left */
  checkStalled: () => void
  /** `peer` was given up for `reason` */
  dropped: (peer: string, reason: string) => void
}

export class ProviderPool {
  /** peers that sent a bad manifest or chunk: never dialled again (shared with the scheduler) */
  readonly liars = new Set<string>()
  /** peer → when and why it was dropped */
  private readonly dropped = new Map<string, { at: number, reason: string }>()
  private readonly connecting = new Set<string>()
  /** BUSY answers per provider so far, and retries waiting to dial */
  private readonly busyCount = new Map<string, number>()
  private readonly retryTimers = new Set<NodeJS.Timeout>()
  /** sessions being opened since the start (all providers are dialled at once) */
  private readonly early = new Map<string, Promise<FetchSession>>()
  /** the connection path each session was opened on */
  private readonly sessionPaths = new WeakMap<FetchSession, PathKind>()
  /** the connection each session runs on */
  private readonly sessionConnections = new WeakMap<FetchSession, Connection>()
  /** re-dials made per provider since its last verified chunk */
  private readonly redials = new Map<string, number>()
  private refreshing = false

  constructor (private readonly node: FileShareNode, private readonly host: PoolHost, private readonly signal?: AbortSignal) {}

  /** Dials under way (any provider). */
  get connectingCount (): number {
    return this.connecting.size
  }

  /** Dials and retries under way: the download is not stalled while there are any. */
  get pending (): boolean {
    return this.connecting.size > 0 || this.retryTimers.size > 0
  }

  get droppedCount (): number {
    return this.dropped.size
  }

  isSelf (provider: ProviderRef): boolean {
    return provider.peer.toString() === this.node.peerId.toString()
  }

  isDropped (peer: string): boolean {
    return this.dropped.has(peer)
  }

  pathOf (session: FetchSession): PathKind {
    return this.sessionPaths.get(session)!
  }

  /**
   * Whether the connection `session` ran on is closing or closed: its failure is then a
   * lost connection, whatever the stream reported (DCUtR closes a relayed connection it
   * replaced, a relay cuts one at its limit) and the provider is dialled again.
   */
  connectionGone (session: FetchSession): boolean {
    const connection = this.sessionConnections.get(session)
    return connection != null && connection.status !== 'open'
  }

  /** BUSY answers from `peer` so far. */
  busy (peer: string): number {
    return this.busyCount.get(peer) ?? 0
  }

  noteBusy (peer: string): void {
    this.busyCount.set(peer, this.busy(peer) + 1)
  }

  /** Opens a fetch stream to a provider: the one place that dials providers. */
  async openSession (provider: ProviderRef): Promise<FetchSession> {
    const { stream, path, connection } = await openFetchStream(this.node, provider, this.signal)
    const session = new FetchSession(stream)
    this.sessionPaths.set(session, path)
    this.sessionConnections.set(session, connection)
    return session
  }

  /** Starts opening a session to `provider` now, for sessionFor() to take. */
  dialEarly (provider: ProviderRef): void {
    const opening = this.openSession(provider)
    opening.catch(() => {}) // handled where it is awaited (sessionFor)
    this.early.set(provider.peer.toString(), opening)
  }

  /** Resolves once the session dialled at the start for `provider` has opened or failed. */
  async settled (provider: ProviderRef): Promise<void> {
    await this.early.get(provider.peer.toString())?.catch(() => {})
  }

  /** The session dialled at the start for this provider (once), else a new one. */
  async sessionFor (provider: ProviderRef): Promise<FetchSession> {
    const key = provider.peer.toString()
    const early = this.early.get(key)
    this.early.delete(key)
    return await (early ?? this.openSession(provider))
  }

  /** After the manifest race: puts the other providers to work (BUSY ones after a wait). */
  connectAll (providers: ProviderRef[], first: ProviderRef): void {
    for (const p of providers) {
      if (p === first) continue
      if (p.partial === true && !this.host.wantsPartial()) continue
      const peer = p.peer.toString()
      if (!this.dropped.has(peer)) void this.connect(p)
      else if (this.busyCount.has(peer)) this.retryBusy(p)
    }
  }

  /** `redialing`: this connects again after a lost connection; a failure then tries again (within PROVIDER_REDIALS) before the provider is dropped. */
  async connect (provider: ProviderRef, redialing = false): Promise<void> {
    const peer = provider.peer.toString()
    if (this.host.ended()) return
    this.connecting.add(peer)
    const started = Date.now()
    try {
      const session = await this.sessionFor(provider)
      log('session to %s open after %d ms (%s)', peer, Date.now() - started, this.pathOf(session))
      if (this.host.ended()) {
        await session.close()
        return
      }
      this.host.start(provider, session)
    } catch (err: any) {
      const reason = toFileShareError(err, 'NETWORK').message
      // a re-dial whose connection closed under the new stream (while DCUtR or a reversal
      // replaced it: closed, reset or EOF while negotiating; the new connection may not be
      // open on this side yet), or while another connection to the provider is open, is
      // tried again shortly; a dial that reaches nobody drops the provider
      const raced = isStreamOpenFailure(err) || this.node.getConnections(provider.peer).some(c => c.status === 'open')
      if (!this.host.ended() && !(redialing && raced && this.redialLater(provider, reason))) this.drop(peer, reason)
    } finally {
      this.connecting.delete(peer)
      this.host.checkStalled()
    }
  }

  /** Dials a provider that answered BUSY again later (with backoff); false once it has been asked enough. */
  retryBusy (provider: ProviderRef): boolean {
    const peer = provider.peer.toString()
    const count = this.busyCount.get(peer) ?? 0
    if (count >= BUSY_MAX_RETRIES || this.host.ended()) return false
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer)
      if (!this.host.ended() && !this.host.working(peer) && !this.connecting.has(peer)) void this.connect(provider)
      else this.host.checkStalled()
    }, busyDelay(count))
    this.retryTimers.add(timer)
    return true
  }

  /**
   * A provider whose connection dropped (a relay's data or time limit, a restart) is
   * dialled again, a bounded number of times: its verified chunks stay verified, its
   * unfinished ones went back to the queue.
   */
  redial (link: ProviderLink, reason: string): boolean {
    const count = this.redials.get(link.peer) ?? 0
    if (count >= PROVIDER_REDIALS || this.host.ended()) return false
    this.redials.set(link.peer, count + 1)
    log('connection to %s lost (%s), dialling again (%d/%d)', link.peer, reason, count + 1, PROVIDER_REDIALS)
    void this.connect(link.ref, true)
    return true
  }

  /** A re-dial that failed is tried again shortly (counted against PROVIDER_REDIALS). */
  private redialLater (provider: ProviderRef, reason: string): boolean {
    const peer = provider.peer.toString()
    const count = this.redials.get(peer) ?? 0
    if (count >= PROVIDER_REDIALS || this.host.ended()) return false
    this.redials.set(peer, count + 1)
    log('re-dial of %s failed (%s), again in %d ms (%d/%d)', peer, reason, REDIAL_RETRY_MS, count + 1, PROVIDER_REDIALS)
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer)
      void this.connect(provider, true)
    }, REDIAL_RETRY_MS)
    this.retryTimers.add(timer)
    return true
  }

  /** A verified chunk from `peer`: its re-dial count starts again. */
  delivered (peer: string): void {
    this.redials.delete(peer)
  }

  /** Adds providers the master lists now that are not in use (liars never come back). */
  async refresh (list: () => Promise<ProviderRef[]>): Promise<void> {
    if (this.refreshing || this.host.ended()) return
    this.refreshing = true
    try {
      const providers = await list()
      for (const p of providers) {
        const peer = p.peer.toString()
        if (this.host.ended() || this.isSelf(p) || this.host.working(peer) || this.connecting.has(peer) || this.liars.has(peer)) continue
        if (p.partial === true && !this.host.wantsPartial()) continue
        const dropped = this.dropped.get(peer)
        // other downloaders (partial) come back sooner: in a crowd their dials fail more often
        // (their uplinks are full) and every one of them is worth having
        if (dropped != null && Date.now() - dropped.at < (p.partial === true ? PARTIAL_PROVIDER_RETRY_MS : PROVIDER_RETRY_MS)) continue
        log('provider %s joins the download', peer)
        void this.connect(p)
      }
    } catch (err: any) {
      log('provider refresh failed: %s', err?.message ?? err)
    } finally {
      this.refreshing = false
    }
  }

  /**
   * When a worker on a relayed connection finds a direct one to its provider (opened by
   * either side, see reachability.ts, or punched, see hole-punch.ts), or a worker on a
   * direct QUIC connection finds a direct TCP one, new requests go to a session on the
   * better connection; the old session finishes what it has in flight and is closed.
   */
  moveToDirect (link: ProviderLink, moved: () => void): void {
    if (link.moving === true) return
    const current = this.sessionConnections.get(link.session)
    if (current == null) {
      if (link.path !== 'relayed' || connectionPath(this.node, link.ref.peer) !== 'direct') return
    } else if (betterConnection(this.node, current) == null) return
    link.moving = true
    this.openSession(link.ref).then(session => {
      link.moving = false
      if (!this.host.current(link) || this.host.ended()) {
        void session.close()
        return
      }
      const old = link.session
      link.session = session
      link.path = this.pathOf(session)
      log('provider %s: moved from %s to %s', link.peer, current?.remoteAddr.toString() ?? 'the relay', this.sessionConnections.get(session)?.remoteAddr.toString() ?? link.path)
      this.retireSession(old, link)
      moved()
    }, (err: any) => {
      link.moving = false
      log('provider %s: direct session failed, staying on the relay: %s', link.peer, err?.message ?? err)
    })
  }

  /**
   * Room for one more request of `length` bytes on `link`'s session before its relay's
   * data limit (with the requests in flight counted in full). A relayed connection is
   * renewed ahead of its cut (make before break): when fewer than `depth` + 2 more chunks
   * fit, a fresh relayed connection is opened and new requests go there, while the ones in
   * flight finish on the old one; no byte is lost to the cut and there is no gap.
   */
  roomFor (link: ProviderLink, length: number, depth: number, moved: () => void, refill: () => void): boolean {
    if (link.path !== 'relayed') return true
    const connection = this.sessionConnections.get(link.session)
    if (connection == null) return true
    const left = relayBytesLeft(connection)
    if (left === Infinity) return true
    const margin = 64 * 1024 + left / 100
    const committed = (link.session.inFlight + 1) * length + margin
    if (left < committed + (depth + 2) * length) this.renew(link, connection, moved, refill)
    return left >= committed
  }

  /** A renewal that failed is tried again after RELAY_RENEW_RETRY_MS (`refill` asks for room again), so requests held back for it never wait forever. */
  private renew (link: ProviderLink, connection: Connection, moved: () => void, refill: () => void): void {
    if (link.moving === true || this.host.ended()) return
    link.moving = true
    log('provider %s: %d bytes left on the relayed connection, opening a fresh one', link.peer, relayBytesLeft(connection))
    openFreshFetchStream(this.node, connection, this.signal).then(({ stream, path, connection: fresh }) => {
      link.moving = false
      const session = new FetchSession(stream)
      this.sessionPaths.set(session, path)
      this.sessionConnections.set(session, fresh)
      if (!this.host.current(link) || this.host.ended()) {
        void session.close()
        return
      }
      const old = link.session
      link.session = session
      link.path = path
      log('provider %s: renewed on %s', link.peer, fresh.remoteAddr.toString())
      this.retireSession(old, link)
      moved()
    }, (err: any) => {
      link.moving = false
      log('provider %s: no fresh relayed connection (again in %d ms): %s', link.peer, RELAY_RENEW_RETRY_MS, err?.message ?? err)
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer)
        if (this.host.current(link) && !this.host.ended()) refill()
      }, RELAY_RENEW_RETRY_MS)
      this.retryTimers.add(timer)
    })
  }

  /**
   * Closes a session a worker no longer uses once nothing is in flight on it, then the
   * relayed connection it ran on once that carries no stream; after a move to a direct
   * path, every idle relayed connection to the peer. Only its own on a renewal: a fresh
   * relayed connection being opened has no stream yet and must not be closed under it.
   */
  retireSession (session: FetchSession, link: ProviderLink): void {
    if (session.inFlight !== 0 || session.closed) return
    const connection = this.sessionConnections.get(session)
    void session.close().then(() => {
      if (link.path === 'direct') closeIdleRelayed(this.node, link.ref.peer)
      else if (connection?.status === 'open' && pathOf(connection) === 'relayed' && connection.streams.length === 0) connection.close().catch(() => {})
    })
  }

  drop (peer: string, reason: string): void {
    log('dropping provider %s: %s', peer, reason)
    this.dropped.set(peer, { at: Date.now(), reason })
    this.host.dropped(peer, reason)
  }

  /** Why each dropped provider was dropped, for error messages. */
  reasons (): string {
    return [...this.dropped.entries()].map(([p, d]) => `${p.slice(-8)}: ${d.reason}`).join('; ')
  }

  /** Ends the pool's own work: retry timers and the sessions dialled early that nobody took. */
  stop (): void {
    for (const t of this.retryTimers) clearTimeout(t)
    this.closeEarly()
  }

  /** Closes the sessions dialled early that nobody took. */
  closeEarly (): void {
    for (const pending of this.early.values()) void pending.then(async s => { await s.close() }, () => {})
    this.early.clear()
  }
}
