/**
 * Keeps the master's view of this peer's catalog true: a full announcement (RESET, then
 * ADD batches) whenever a connection to the master is (re)established, deltas (ADD,
 * REMOVE) as the catalog changes, and reconnection with exponential backoff while the
 * master is away. A peer without a reachable master keeps serving; it just retries.
 */
import type { PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { RegisterRequest, type SharedFile } from '../protocol/pb/register.js'
import { REGISTER_BATCH, MASTER_RETRY_MIN_MS, MASTER_RETRY_MAX_MS } from '../protocol/limits.js'
import type { FileShareNode } from '../node/create-node.js'
import type { Catalog, CatalogChange } from './catalog.js'
import type { MasterClient } from './master-client.js'
import { OneShotTimer } from '../util/one-shot-timer.js'

const log = logger('fileshare:peer:registration')
/** How long a stopping peer waits for the master to acknowledge its withdrawal. */
const DEREGISTER_TIMEOUT_MS = 2_000

export interface RegistrationEvents {
  onRegistered?: (files: number) => void
  onError?: (message: string) => void
}

export class Registration {
  private stopped = false
  private backoffMs = MASTER_RETRY_MIN_MS
  private readonly timer = new OneShotTimer(() => { void this.run() })
  private running: Promise<void> | null = null
  /** whether the master holds our full set (deltas are sent only then) */
  private synced = false
  private pendingAdds = new Map<string, SharedFile>()
  private pendingRemoves = new Set<string>()
  private readonly unsubscribe: () => void
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    if (evt.detail.equals(this.master.peer)) {
      log('master disconnected')
      this.synced = false
      this.schedule(MASTER_RETRY_MIN_MS)
    }
  }

  constructor (private readonly node: FileShareNode, private readonly master: MasterClient, private readonly catalog: Catalog,
    private readonly events: RegistrationEvents = {}) {
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
      await this.master.register({ op: RegisterRequest.Op.RESET, files: [], paths: [] }, AbortSignal.timeout(DEREGISTER_TIMEOUT_MS)).catch(() => {})
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
      this.backoffMs = MASTER_RETRY_MIN_MS
    }, (err: any) => {
      this.synced = false
      const message = err?.message ?? String(err)
      log('registration failed, retrying in %d ms: %s', this.backoffMs, message)
      this.events.onError?.(message)
      this.schedule(this.backoffMs)
      this.backoffMs = Math.min(this.backoffMs * 2, MASTER_RETRY_MAX_MS)
    }).finally(() => { this.running = null })
    await this.running
  }

  private async announceAll (): Promise<void> {
    this.pendingAdds.clear()
    this.pendingRemoves.clear()
    let batch: SharedFile[] = []
    let first = true
    let count = 0
    for (const file of this.catalog.files()) {
      batch.push(file)
      if (batch.length === REGISTER_BATCH) {
        count = (await this.master.register({ op: first ? RegisterRequest.Op.RESET : RegisterRequest.Op.ADD, files: batch, paths: [] })).files
        first = false
        batch = []
      }
    }
    if (first || batch.length > 0) {
      count = (await this.master.register({ op: first ? RegisterRequest.Op.RESET : RegisterRequest.Op.ADD, files: batch, paths: [] })).files
    }
    this.synced = true
    log('registered %d files with the master', count)
    this.events.onRegistered?.(count)
    // changes that arrived during the announcement
    if (this.pendingAdds.size > 0 || this.pendingRemoves.size > 0) this.schedule(0)
  }

  private async sendDeltas (): Promise<void> {
    while (this.pendingRemoves.size > 0) {
      const paths = [...this.pendingRemoves].slice(0, REGISTER_BATCH)
      await this.master.register({ op: RegisterRequest.Op.REMOVE, files: [], paths })
      for (const p of paths) this.pendingRemoves.delete(p)
    }
    while (this.pendingAdds.size > 0) {
      const files = [...this.pendingAdds.values()].slice(0, REGISTER_BATCH)
      const res = await this.master.register({ op: RegisterRequest.Op.ADD, files, paths: [] })
      for (const f of files) {
        if (this.pendingAdds.get(f.path) === f) this.pendingAdds.delete(f.path)
      }
      this.events.onRegistered?.(res.files)
    }
  }
}
