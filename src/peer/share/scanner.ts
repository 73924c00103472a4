/**
 * The shared folder: walks it recursively (bounded memory: one directory handle at a time
 * per level, files hashed one after another), hashes new or changed files and keeps the
 * catalog equal to what is on disk. Symlinks are followed only when they resolve inside
 * the folder; download part files and the data folder are never shared.
 *
 * A file is hashed only once it has settled: its mtime is older than `settleMs`, or its
 * (size, mtime, inode) stayed the same across two observations `settleMs` apart. A file
 * that is still being written stays pending (and a changed file's old id is withdrawn at
 * once: its bytes are no longer on disk). Hashes are cached per (path, size, mtime, inode)
 * in a HashCache, so a restart re-hashes nothing that did not change.
 *
 * Each catalog entry records what was hashed: the path to open (a symlink inside the
 * folder resolved to its real path) and the file's (device, inode, size, mtime), so the
 * fetch server can refuse to serve anything else. `invalidate` forgets files the fetch
 * server found changed, so that the next look hashes them again.
 */
import { opendir, lstat, stat, realpath } from 'node:fs/promises'
import { join, relative, sep, dirname, basename } from 'node:path'
import type { Stats } from 'node:fs'
import { logger } from '@libp2p/logger'
import { hashFile } from '../../content/hash-file.js'
import { isSafeRelativePath } from '../../protocols/paths.js'
import { SHARE_SETTLE_MS } from './tuning.js'
import type { Catalog } from '../catalog.js'
import type { Manifest } from '../../content/content-id.js'
import { HashCache, type Fingerprint } from './hash-cache.js'
import { identityOf, sameIdentity } from '../../content/file-identity.js'

const log = logger('fileshare:peer:share')

export interface FoundFile {
  abs: string
  rel: string
  /** the file's stats (a symlink's target's) */
  stat: Stats
  /** the path to open: `abs`, or the real path when `abs` is a symlink */
  open: string
}

export interface ShareFolderOptions {
  /** absolute paths never shared (the data folder) */
  exclude?: string[]
  /** hash cache (default: an in-memory one) */
  cache?: HashCache
  /** see the module comment (default SHARE_SETTLE_MS) */
  settleMs?: number
  /**
   * the catalog name of every file starts with `prefix/` (several shared roots); a root that is
   * a single file is shared as `prefix`, default its own file name
   */
  prefix?: string
}

/** Entries a scan could not read (folders it could not list, files it could not open). */
export interface Unreadable {
  count: number
  /** the first few, absolute */
  paths: string[]
}

const UNREADABLE_KEPT = 5

export interface ScanStats {
  /** files hashed (cache misses) */
  hashed: number
  /** files taken from the hash cache */
  cached: number
  /** files seen but still being written */
  pending: number
  /** entries the last full scan could not read */
  unreadable?: Unreadable
}

/** True for names FileShare itself writes and never shares. */
export function isInternalName (name: string): boolean {
  return (name.startsWith('.') && name.endsWith('.part')) || name === '.fileshare'
}

export class ShareFolder {
  private rootReal = ''
  /** fingerprint of what this folder put in the catalog, per relative path (only these are withdrawn) */
  private readonly known = new Map<string, string>()
  /** files seen but not settled yet: fingerprint and when it was first seen */
  private readonly pending = new Map<string, { fp: string, since: number }>()
  private readonly cache: HashCache
  private readonly ownsCache: boolean
  /** see the module comment */
  readonly settleMs: number
  private queue: Promise<unknown> = Promise.resolve()
  /** files hashed and taken from the cache since start (for tests and stats) */
  readonly totals: Omit<ScanStats, 'pending' | 'unreadable'> = { hashed: 0, cached: 0 }
  /** what the last full scan (or the one running) could not read */
  unreadable: Unreadable = { count: 0, paths: [] }
  private fileRoot = false
  private prefix: string

  constructor (readonly root: string, private readonly catalog: Catalog, private readonly options: ShareFolderOptions = {}) {
    this.ownsCache = options.cache == null
    this.cache = options.cache ?? new HashCache(null)
    this.settleMs = options.settleMs ?? SHARE_SETTLE_MS
    this.prefix = options.prefix ?? ''
  }

  /** The catalog name of the file at relative path `rel`. */
  nameOf (rel: string): string {
    return this.prefix === '' ? rel : rel === '' ? this.prefix : `${this.prefix}/${rel}`
  }

  /** Resolves the root once: its real path, and whether it is a single file. */
  private async ensureRoot (): Promise<void> {
    if (this.rootReal !== '') return
    this.rootReal = await realpath(this.root)
    this.fileRoot = (await stat(this.rootReal)).isFile()
    if (this.fileRoot && this.prefix === '') this.prefix = basename(this.root)
  }

  private noteUnreadable (abs: string, err: any): void {
    if (err?.code !== 'EACCES' && err?.code !== 'EPERM') return
    if (this.unreadable.paths.includes(abs)) return
    this.unreadable.count++
    if (this.unreadable.paths.length < UNREADABLE_KEPT) this.unreadable.paths.push(abs)
  }

  /** The folder's real path (valid after the first scan). */
  get realRoot (): string {
    return this.rootReal
  }

  /** Relative paths of files waiting to settle. */
  pendingPaths (): string[] {
    return [...this.pending.keys()]
  }

  /** Brings the catalog in line with the whole folder; returns the number of files hashed. */
  async scan (signal?: AbortSignal): Promise<number> {
    return await this.serial(async () => await this.fullScan(signal))
  }

  /** Re-examines the given relative paths (files or folders, present or gone). */
  async scanPaths (rels: Iterable<string>, signal?: AbortSignal): Promise<void> {
    const list = [...new Set(rels)]
    await this.serial(async () => {
      for (const rel of list) await this.scanOne(rel, signal)
    })
  }

  /**
   * Forgets the given relative paths (catalog, fingerprint, hash cache row): the fetch
   * server found that they no longer hold what was hashed. A later scan hashes them again.
   */
  async invalidate (rels: Iterable<string>): Promise<void> {
    const list = [...new Set(rels)]
    await this.serial(async () => {
      for (const rel of list) {
        this.forget(rel)
        this.pending.delete(rel)
      }
    })
  }

  /** The relative path of absolute `abs` when it is the root file or lies inside the folder, else null. */
  relativePath (abs: string): string | null {
    if (this.rootReal === '') return null
    if (abs === this.rootReal) return this.fileRoot ? '' : null
    if (!abs.startsWith(this.rootReal + sep)) return null
    return this.relOf(abs)
  }

  /** See LiveShare.adopt: records `manifest` for the file's current fingerprint, then scans it. */
  async adopt (absPath: string, manifest: Manifest): Promise<void> {
    await this.ensureRoot()
    const abs = join(await realpath(dirname(absPath)), basename(absPath))
    const st = await stat(abs)
    if (st.size === manifest.size) this.cache.put(abs, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }, manifest)
    await this.scanPaths([this.relOf(abs)])
  }

  close (): void {
    if (this.ownsCache) this.cache.close()
  }

  /** Scans never overlap: the watcher, the periodic rescan and callers queue up. */
  private async serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => {})
    return await run
  }

  /** The whole folder (scanOne of the root) and a prune of the hash cache; returns the number of files hashed. */
  private async fullScan (signal?: AbortSignal): Promise<number> {
    this.rootReal = ''
    await this.ensureRoot()
    this.unreadable = { count: 0, paths: [] }
    const before = { ...this.totals }
    const seen = await this.scanOne('', signal)
    const pruned = this.cache.prune(this.rootReal, abs => seen.has(this.relOf(abs)))
    const hashed = this.totals.hashed - before.hashed
    log('scanned %s: %d files, %d hashed, %d cached, %d pending, %d stale cache rows pruned',
      this.rootReal, seen.size, hashed, this.totals.cached - before.cached, this.pending.size, pruned)
    return hashed
  }

  /**
   * One changed path: a file, a folder (walked), or something gone (withdrawn with
   * everything below). Returns the files seen.
   */
  private async scanOne (rel: string, signal?: AbortSignal): Promise<Set<string>> {
    await this.ensureRoot()
    // a root that is a file: every event is about the file itself
    if (this.fileRoot) rel = ''
    const seen = new Set<string>()
    if (rel !== '' && (!isSafeRelativePath(rel) || rel.split('/').some(isInternalName))) return seen
    const abs = rel === '' ? this.rootReal : join(this.rootReal, ...rel.split('/'))
    if (this.isExcluded(abs)) return seen
    // a path from a watch event may run through a symlinked folder: lstat only looks at
    // its last component, so its folder must really lie inside the shared one too
    const found = rel === '' ? await stat(abs).then(st => ({ stat: st, open: abs }), () => null) : await this.parentInside(abs) ? await this.entryStat(abs) : null
    const st = found?.stat
    if (found != null && st?.isFile() === true) {
      seen.add(rel)
      await this.consider({ abs, rel, stat: st, open: found.open }, signal)
      return seen
    }
    if (st?.isDirectory() === true) {
      for await (const file of this.walk(abs, signal)) {
        seen.add(file.rel)
        await this.consider(file, signal)
      }
    }
    // whatever the catalog or the pending list holds below `rel` and was not seen is gone
    const prefix = rel === '' ? '' : rel + '/'
    for (const path of [...this.known.keys()]) {
      if ((path === rel || path.startsWith(prefix)) && !seen.has(path)) this.forget(path)
    }
    for (const path of [...this.pending.keys()]) {
      if ((path === rel || path.startsWith(prefix)) && !seen.has(path)) this.pending.delete(path)
    }
    return seen
  }

  private async consider (file: FoundFile, signal?: AbortSignal): Promise<void> {
    const fp: Fingerprint = { size: file.stat.size, mtimeMs: file.stat.mtimeMs, ino: file.stat.ino }
    const key = `${fp.size}:${fp.mtimeMs}:${fp.ino}`
    if (this.known.get(file.rel) === key) return
    // the bytes behind the old id are gone: withdraw it now, announce the new one once settled
    if (this.known.has(file.rel)) this.forget(file.rel, false)
    const cached = this.cache.get(file.abs, fp)
    if (cached != null) {
      this.catalog.add(this.nameOf(file.rel), file.abs, cached.id, cached.manifest, { open: file.open, identity: identityOf(file.stat) })
      this.known.set(file.rel, key)
      this.pending.delete(file.rel)
      this.totals.cached++
      return
    }
    const now = Date.now()
    const seenBefore = this.pending.get(file.rel)
    const settled = now - fp.mtimeMs >= this.settleMs || (seenBefore?.fp === key && now - seenBefore.since >= this.settleMs)
    if (!settled) {
      if (seenBefore?.fp !== key) this.pending.set(file.rel, { fp: key, since: now })
      return
    }
    try {
      const { id, manifest, identity } = await hashFile(file.open, { signal })
      // what was read must be what was looked at (else it changed meanwhile: look again)
      if (!sameIdentity(identity, identityOf(file.stat))) throw new Error('changed before it was hashed')
      this.pending.delete(file.rel)
      this.catalog.add(this.nameOf(file.rel), file.abs, id, manifest, { open: file.open, identity })
      this.known.set(file.rel, key)
      this.cache.put(file.abs, fp, manifest)
      this.totals.hashed++
    } catch (err: any) {
      if (signal?.aborted === true) throw err
      if (err?.code === 'EACCES' || err?.code === 'EPERM') {
        // unreadable: reported, looked at again by the next full scan
        this.noteUnreadable(file.abs, err)
        return
      }
      // changed while hashing, vanished: try again once it settles
      this.pending.set(file.rel, { fp: '', since: now })
      log('not sharing %s yet: %s', file.rel, err?.message ?? err)
    }
  }

  private forget (rel: string, dropCache = true): void {
    this.catalog.remove(this.nameOf(rel))
    this.known.delete(rel)
    if (dropCache) this.cache.delete(join(this.rootReal, ...rel.split('/')))
  }

  private relOf (abs: string): string {
    return relative(this.rootReal, abs).split(sep).join('/')
  }

  private isExcluded (abs: string): boolean {
    return this.options.exclude?.some(e => abs === e || abs.startsWith(e + sep)) === true
  }

  private insideRoot (realPath: string): boolean {
    return realPath === this.rootReal || realPath.startsWith(this.rootReal + sep)
  }

  private async parentInside (abs: string): Promise<boolean> {
    const parent = await realpath(dirname(abs)).catch(() => null)
    return parent != null && this.insideRoot(parent)
  }

  /**
   * lstat, following a symlink only when it resolves inside the folder (a link to a
   * folder is not followed: what it points at is shared under its real path already),
   * and the path to open (the link's real path). null for anything not to be shared or gone.
   */
  private async entryStat (abs: string): Promise<{ stat: Stats, open: string } | null> {
    try {
      const st = await lstat(abs)
      if (!st.isSymbolicLink()) return { stat: st, open: abs }
      const real = await realpath(abs)
      if (!this.insideRoot(real)) {
        log('not sharing %s: symlink leads out of the shared folder', abs)
        return null
      }
      const followed = await lstat(real)
      return followed.isFile() ? { stat: followed, open: real } : null
    } catch {
      return null
    }
  }

  /** Regular files below `dir`, depth first. */
  async * walk (dir: string, signal?: AbortSignal): AsyncGenerator<FoundFile> {
    let handle
    try {
      handle = await opendir(dir, { bufferSize: 64 })
    } catch (err: any) {
      log('cannot read %s: %s', dir, err?.message ?? err)
      this.noteUnreadable(dir, err)
      return
    }
    for await (const entry of handle) {
      signal?.throwIfAborted()
      if (isInternalName(entry.name)) continue
      const abs = join(dir, entry.name)
      if (this.isExcluded(abs)) continue
      const found = await this.entryStat(abs)
      if (found == null) continue
      if (found.stat.isDirectory()) {
        yield * this.walk(abs, signal)
      } else if (found.stat.isFile()) {
        const rel = this.relOf(abs)
        if (isSafeRelativePath(rel)) yield { abs, rel, stat: found.stat, open: found.open }
      }
    }
  }
}
