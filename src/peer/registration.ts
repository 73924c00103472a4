/**
 * Keeps the master's view of this peer's catalog true: a full announcement (RESET, then
 * ADD batches) whenever a connection to the master is (re)established, deltas (ADD,
 * REMOVE) as the catalog changes, and reconnection with exponential backoff while the
 * master is away. A peer without a reachable master keeps serving; it just retries.
 */
import type { PeerId, Libp2p } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { REGISTER_BATCH } from '../protocols/register/constants.js'
import type { RegisterClient, SharedFile } from '../protocols/register/client.js'
import { MASTER_RETRY_MIN_MS, MASTER_RETRY_MAX_MS } from './tuning.js'
import type { Catalog, CatalogChange } from './catalog.js'
import { OneShotTimer } from '../util/one-shot-timer.js'
import { Backoff } from '../util/backoff.js'

const log = logger('fileshare:peer:registration')
/** How long a stopping peer waits for the master to acknowledge its withdrawal. */
const DEREGISTER_TIMEOUT_MS = 2_000

export interface RegistrationEvents {
  onRegistered?: (files: number) => void
  onError?: (message: string) => void
}

export class Registration {
  private stopped = false
  private readonly backoff = new Backoff({ minMs: MASTER_RETRY_MIN_MS, maxMs: MASTER_RETRY_MAX_MS })
  private readonly timer = new OneShotTimer(() => { void this.run() })
  private running: Promise<void> | null = null
  /** whether the master holds our full set (deltas are sent only then) */
  private synced = false
  private pendingAdds = new Map<string, SharedFile>()
  private pendingRemoves = new Set<string>()
  private readonly unsubscribe: () => void
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    if (evt.detail.equals(this.masterPeer)) {
      log('master disconnected')
      this.synced = false
      this.schedule(MASTER_RETRY_MIN_MS)
    }
  }

  /**
   * `node` tells when the master (`masterPeer`) disconnects; `master` carries the
   * requests (protocols/register/client.ts).
   */
  constructor (private readonly node: Pick<Libp2p, 'addEventListener' | 'removeEventListener'>, private readonly masterPeer: PeerId, private readonly master: RegisterClient,
    private readonly catalog: Catalog, private readonly events: RegistrationEvents = {}) {
    this.unsubscribe = catalog.onChange(change => { this.queue(change) })
  }

  start (): void {
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
    this.schedule(0)
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.unsubscribe()
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    this.timer.cancel()
    await this.running?.catch(() => {})
    if (this.synced) {
      // withdraw everything at once (a clean stop is "known to be gone"), without waiting
      // long for a master that does not answer: the grace period covers that case
      this.synced = false
      await this.master.withdraw(AbortSignal.timeout(DEREGISTER_TIMEOUT_MS)).catch(() => {})
    }
  }

  get registered (): boolean {
    return this.synced
  }

  /** Resolves once the next full announcement or delta flush has been attempted. */
  async flush (): Promise<void> {
    while (this.running != null) await this.running.catch(() => {})
    if (this.synced && (this.pendingAdds.size > 0 || this.pendingRemoves.size > 0)) await this.run()
  }

  private queue (change: CatalogChange): void {
    if (change.type === 'add') {
      this.pendingRemoves.delete(change.file.path)
      this.pendingAdds.set(change.file.path, change.file)
    } else {
      this.pendingAdds.delete(change.path)
      this.pendingRemoves.add(change.path)
    }
    if (this.synced) this.schedule(100)
  }

  private schedule (delayMs: number): void {
    if (!this.stopped) this.timer.start(delayMs)
  }

  private async run (): Promise<void> {
    if (this.running != null) {
      await this.running.catch(() => {})
      return
    }
    this.running = (this.synced ? this.sendDeltas() : this.announceAll()).then(() => {
      this.backoff.reset()
    }, (err: any) => {
      this.synced = false
      const message = err?.message ?? String(err)
      const delay = this.backoff.next()
      log('registration failed, retrying in %d ms: %s', delay, message)
      this.events.onError?.(message)
      this.schedule(delay)
    }).finally(() => { this.running = null })
    await this.running
  }

  private async announceAll (): Promise<void> {
    this.pendingAdds.clear()
    this.pendingRemoves.clear()
    const count = await this.master.announce(this.catalog.files())
    this.synced = true
    log('registered %d files with the master', count)
    this.events.onRegistered?.(count)
    // changes that arrived during the announcement
    if (this.pendingAdds.size > 0 || this.pendingRemoves.size > 0) this.schedule(0)
  }

  private async sendDeltas (): Promise<void> {
    while (this.pendingRemoves.size > 0) {
      const paths = [...this.pendingRemoves].slice(0, REGISTER_BATCH)
      await this.master.remove(paths)
      for (const p of paths) this.pendingRemoves.delete(p)
    }
    while (this.pendingAdds.size > 0) {
      const files = [...this.pendingAdds.values()].slice(0, REGISTER_BATCH)
      const count = await this.master.add(files)
      for (const f of files) {
        if (this.pendingAdds.get(f.path) === f) this.pendingAdds.delete(f.path)
      }
      this.events.onRegistered?.(count)
    }
  }
}
