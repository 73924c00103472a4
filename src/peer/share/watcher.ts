/**
 * Follows the shared folder: fs.watch (recursive; inotify on Linux since Node 20) queues
 * the changed paths, which are rescanned after a quiet period (debounce). Files still being
 * written are re-examined once they may have settled. A periodic full rescan catches what
 * the watcher missed, and is the only mechanism where fs.watch is unavailable or fails.
 */
import { watch, statSync, type FSWatcher } from 'node:fs'
import { logger } from '@libp2p/logger'
import {
  SHARE_WATCH_DEBOUNCE_MS, SHARE_RESCAN_INTERVAL_MS, SHARE_MAX_QUEUED_PATHS
} from './tuning.js'
import type { ShareFolder } from './scanner.js'
import { OneShotTimer } from '../../util/one-shot-timer.js'

const log = logger('fileshare:peer:share:watch')

export interface FolderWatcherOptions {
  /** use fs.watch (default true); without it only the periodic rescan runs */
  watch?: boolean
  debounceMs?: number
  /** full rescan period, 0 = never (default SHARE_RESCAN_INTERVAL_MS) */
  rescanIntervalMs?: number
  onError?: (message: string) => void
}

export class FolderWatcher {
  private watcher: FSWatcher | null = null
  private readonly queued = new Set<string>()
  private fullRescan = false
  private readonly debounce = new OneShotTimer(() => { void this.flush() })
  private readonly settleTimer = new OneShotTimer(() => {
    for (const p of this.folder.pendingPaths()) this.queued.add(p)
    this.kick(0)
  })
  private interval: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  private stopped = false
  private readonly abort = new AbortController()

  private readonly rescanIntervalMs: number

  constructor (private readonly folder: ShareFolder, private readonly options: FolderWatcherOptions = {}) {
    this.rescanIntervalMs = options.rescanIntervalMs ?? SHARE_RESCAN_INTERVAL_MS
  }

  /** true while fs.watch is delivering events */
  get watching (): boolean {
    return this.watcher != null
  }

  start (): void {
    if (this.options.watch !== false) this.startWatch()
    if (this.rescanIntervalMs > 0) {
      this.interval = setInterval(() => { this.fullRescan = true; this.kick(0) }, this.rescanIntervalMs)
      this.interval.unref()
    }
    this.scheduleSettle()
  }

  async stop (): Promise<void> {
    this.stopped = true
    this.watcher?.close()
    this.watcher = null
    this.debounce.cancel()
    this.settleTimer.cancel()
    if (this.interval != null) clearInterval(this.interval)
    this.abort.abort()
    await this.running?.catch(() => {})
  }

  /** Re-examines `paths` (relative) soon, as if the watcher had reported them. */
  enqueue (paths: string[]): void {
    for (const p of paths) this.queued.add(p)
    this.kick(0)
  }

  private startWatch (): void {
    try {
      const root = this.folder.realRoot === '' ? this.folder.root : this.folder.realRoot
      // a shared root may be a single file: watched on its own
      this.watcher = watch(root, { recursive: !statSync(root).isFile() })
    } catch (err: any) {
      this.fail(`cannot watch ${this.folder.root} (${err?.code ?? err?.message ?? err}): rescanning every ${this.rescanIntervalMs} ms instead`)
      return
    }
    this.watcher.on('change', (_type, filename) => {
      if (filename == null || this.queued.size >= SHARE_MAX_QUEUED_PATHS) {
        this.fullRescan = true
      } else {
        this.queued.add(filename.toString().split('\\').join('/'))
      }
      this.kick(this.options.debounceMs ?? SHARE_WATCH_DEBOUNCE_MS)
    })
    this.watcher.on('error', (err: any) => {
      this.watcher?.close()
      this.watcher = null
      this.fail(`watching ${this.folder.root} failed (${err?.code ?? err?.message ?? err}): falling back to periodic rescans`)
      this.fullRescan = true
      this.kick(0)
    })
  }

  private fail (message: string): void {
    log(message)
    this.options.onError?.(message)
  }

  /** (Re)starts the quiet-period timer. */
  private kick (delayMs: number): void {
    if (!this.stopped) this.debounce.start(delayMs)
  }

  private async flush (): Promise<void> {
    if (this.running != null) {
      // a scan is in progress: run again when it ends
      await this.running.catch(() => {})
      if (!this.debounce.pending) this.kick(0)
      return
    }
    const full = this.fullRescan
    const paths = [...this.queued]
    this.fullRescan = false
    this.queued.clear()
    if (!full && paths.length === 0) return
    this.running = (async () => {
      try {
        if (full) await this.folder.scan(this.abort.signal)
        else await this.folder.scanPaths(paths, this.abort.signal)
      } catch (err: any) {
        if (!this.stopped) this.fail(`rescan of ${this.folder.root} failed: ${err?.message ?? err}`)
      }
    })().finally(() => { this.running = null })
    await this.running
    this.scheduleSettle()
  }

  /** Files that were still being written get another look once they may have settled. */
  private scheduleSettle (): void {
    if (this.stopped || this.settleTimer.pending) return
    if (this.folder.pendingPaths().length === 0) return
    this.settleTimer.start(this.folder.settleMs + 50)
  }
}
