/**
 * A shared folder that stays true: the hash cache under the data folder, a first full scan
 * (waiting a little for files still being written), then the watcher and periodic rescans.
 */
import { ShareFolder } from './scanner.js'
import { HashCache } from './hash-cache.js'
import { FolderWatcher } from './watcher.js'
import type { Catalog } from '../catalog.js'
import type { Manifest } from '../../content/content-id.js'

export interface LiveShareOptions {
  root: string
  catalog: Catalog
  /** the peer's data folder: holds the hash cache and is never shared (null: in-memory cache) */
  dataDir: string | null
  settleMs?: number
  watch?: boolean
  rescanIntervalMs?: number
  onWarning?: (message: string) => void
}

export interface LiveShare {
  readonly folder: ShareFolder
  /**
   * Shares a file inside the folder whose manifest is already known and verified (a
   * finished download) at once, without waiting for it to settle or hashing it again.
   */
  adopt: (absPath: string, manifest: Manifest) => Promise<void>
  /**
   * The file at absolute `absPath` no longer holds what was hashed (the fetch server
   * found it replaced or edited): forget it and look at it again soon (hashed again once
   * settled). False when the path is not inside the folder.
   */
  recheck: (absPath: string) => Promise<boolean>
  /** full rescan now; resolves with the number of files hashed */
  rescan: () => Promise<number>
  stop: () => Promise<void>
}

/** Rounds of waiting for unsettled files before the first scan is declared done. */
const FIRST_SCAN_SETTLE_ROUNDS = 3

export async function startLiveShare (options: LiveShareOptions): Promise<LiveShare> {
  const cache = new HashCache(options.dataDir)
  const folder = new ShareFolder(options.root, options.catalog, {
    exclude: options.dataDir != null ? [options.dataDir] : [],
    cache,
    settleMs: options.settleMs
  })
  const watcher = new FolderWatcher(folder, { watch: options.watch, rescanIntervalMs: options.rescanIntervalMs, onError: options.onWarning })
  try {
    watcher.start() // before the first scan, so nothing written meanwhile is missed
    await folder.scan()
    // files written just before start: give them a moment rather than announcing them late
    for (let round = 0; round < FIRST_SCAN_SETTLE_ROUNDS && folder.pendingPaths().length > 0; round++) {
      await new Promise(resolve => setTimeout(resolve, folder.settleMs + 20))
      await folder.scanPaths(folder.pendingPaths())
    }
  } catch (err) {
    await watcher.stop()
    cache.close()
    throw err
  }
  let stopped = false
  return {
    folder,
    adopt: async (absPath, manifest) => { await folder.adopt(absPath, manifest) },
    recheck: async (absPath) => {
      const rel = folder.relativePath(absPath)
      if (rel == null || stopped) return false
      await folder.invalidate([rel])
      watcher.enqueue([rel])
      return true
    },
    rescan: async () => await folder.scan(),
    async stop () {
      if (stopped) return
      stopped = true
      await watcher.stop()
      // let a scan in progress finish before the cache closes
      await folder.scanPaths([]).catch(() => {})
      cache.close()
    }
  }
}
