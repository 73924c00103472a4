/**
 * What a peer shares, kept true: one or more roots (folders, or single files), each a
 * ShareFolder with its watcher, all in one catalog and one hash cache under the data folder;
 * a first full scan of each (waiting a little for files still being written), then the
 * watchers and periodic rescans.
 *
 * Names stay unique across roots: with one root, names are paths inside it (a single file
 * is shared under its file name); with several, every name starts with the root's base name
 * (`Pictures/beach.jpg`, `notes.txt`), and two roots with the same base name get `-2`, `-3` ….
 */
import { basename, relative, isAbsolute, sep } from 'node:path'
import { ShareFolder, type Unreadable } from './scanner.js'
import { HashCache } from './hash-cache.js'
import { FolderWatcher } from './watcher.js'
import type { Catalog } from '../catalog.js'
import type { Manifest } from '../../content/content-id.js'

export interface LiveShareOptions {
  /** the root (a folder or a file); or several in `roots` */
  root?: string
  /** several roots (absolute paths), each a folder or a file */
  roots?: string[]
  catalog: Catalog
  /** the peer's data folder: holds the hash cache and is never shared (null: in-memory cache) */
  dataDir: string | null
  settleMs?: number
  watch?: boolean
  rescanIntervalMs?: number
  onWarning?: (message: string) => void
}

export interface LiveShare {
  /** the first root's folder */
  readonly folder: ShareFolder
  readonly folders: ShareFolder[]
  /**
   * Shares a file inside a shared folder whose manifest is already known and verified (a
   * finished download) at once, without waiting for it to settle or hashing it again.
   */
  adopt: (absPath: string, manifest: Manifest) => Promise<void>
  /** true when `absPath` lies inside one of the shared folders */
  holds: (absPath: string) => boolean
  /**
   * The file at absolute `absPath` no longer holds what was hashed (the fetch server
   * found it replaced or edited): forget it and look at it again soon (hashed again once
   * settled). False when the path is not in a shared root.
   */
  recheck: (absPath: string) => Promise<boolean>
  /** entries the last full scans could not read (all roots) */
  unreadable: () => Unreadable
  /** full rescan now; resolves with the number of files hashed */
  rescan: () => Promise<number>
  stop: () => Promise<void>
}

/** Rounds of waiting for unsettled files before the first scan is declared done. */
const FIRST_SCAN_SETTLE_ROUNDS = 3

/** The catalog prefix of each root: none for a single folder, else its base name made unique. */
export function rootPrefixes (roots: string[]): string[] {
  if (roots.length === 1) return ['']
  const used = new Set<string>()
  return roots.map(root => {
    const base = basename(root) === '' ? 'root' : basename(root)
    let name = base
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`
    used.add(name)
    return name
  })
}

export async function startLiveShare (options: LiveShareOptions): Promise<LiveShare> {
  const roots = options.roots ?? (options.root != null ? [options.root] : [])
  if (roots.length === 0) throw new Error('startLiveShare: no root')
  const cache = new HashCache(options.dataDir)
  const prefixes = rootPrefixes(roots)
  const folders = roots.map((root, i) => new ShareFolder(root, options.catalog, {
    exclude: options.dataDir != null ? [options.dataDir] : [],
    cache,
    settleMs: options.settleMs,
    ...(prefixes[i] !== '' ? { prefix: prefixes[i] } : {})
  }))
  const watchers = folders.map(folder => new FolderWatcher(folder, { watch: options.watch, rescanIntervalMs: options.rescanIntervalMs, onError: options.onWarning }))
  try {
    for (let i = 0; i < folders.length; i++) {
      const folder = folders[i]
      watchers[i].start() // before the first scan, so nothing written meanwhile is missed
      await folder.scan()
    }
    // files written just before start: give them a moment rather than announcing them late
    for (let round = 0; round < FIRST_SCAN_SETTLE_ROUNDS && folders.some(f => f.pendingPaths().length > 0); round++) {
      await new Promise(resolve => setTimeout(resolve, Math.max(...folders.map(f => f.settleMs)) + 20))
      for (const folder of folders) await folder.scanPaths(folder.pendingPaths())
    }
  } catch (err) {
    for (const w of watchers) await w.stop()
    cache.close()
    throw err
  }
  const holder = (absPath: string): ShareFolder | undefined => folders.find(f => {
    const rel = relative(f.realRoot === '' ? f.root : f.realRoot, absPath)
    return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel)
  })
  let stopped = false
  return {
    folder: folders[0],
    folders,
    adopt: async (absPath, manifest) => { await holder(absPath)?.adopt(absPath, manifest) },
    holds: absPath => holder(absPath) != null,
    recheck: async (absPath) => {
      const i = folders.findIndex(f => f.relativePath(absPath) != null)
      if (i < 0 || stopped) return false
      const rel = folders[i].relativePath(absPath)!
      await folders[i].invalidate([rel])
      watchers[i].enqueue([rel])
      return true
    },
    unreadable: () => {
      const all = folders.map(f => f.unreadable)
      return { count: all.reduce((n, u) => n + u.count, 0), paths: all.flatMap(u => u.paths).slice(0, 5) }
    },
    rescan: async () => {
      let hashed = 0
      for (const folder of folders) hashed += await folder.scan()
      return hashed
    },
    async stop () {
      if (stopped) return
      stopped = true
      for (const w of watchers) await w.stop()
      // let a scan in progress finish before the cache closes
      for (const folder of folders) await folder.scanPaths([]).catch(() => {})
      cache.close()
    }
  }
}
