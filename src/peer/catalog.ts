/**
 * What this peer shares: content id → manifest and the files that carry it, and relative
 * path → content id. The fetch server answers from here only, so a request can never
 * name a path, only an id the peer chose to share. Each file carries what was hashed
 * (its source: the path to open and the file's identity), which the fetch server checks
 * before it serves a byte.
 *
 * An entry may be partial: a download in progress serves the chunks it has verified from
 * its part file (`addPartial`, then `gained` per verified chunk, which the fetch server
 * turns into HAVE frames), until it is complete (`completePartial`) or withdrawn (`remove`).
 */
import { toString as u8ToString } from 'uint8arrays'
import type { Manifest } from '../content/content-id.js'
import type { ServedSource } from '../protocols/fetch/server.js'
import { baseName } from '../protocols/paths.js'

export type { ServedSource } from '../protocols/fetch/server.js'

/** Followers remembered per partial copy (the download asks them as providers; bounded against strangers). */
const MAX_FOLLOWERS_KEPT = 256

export interface SharedEntry {
  id: Uint8Array
  manifest: Manifest
  /** absolute path on disk → relative path in the share */
  files: Map<string, string>
  /** absolute path on disk → what was hashed there (path opened, identity) */
  sources: Map<string, ServedSource>
  /** a partial copy: one byte per chunk, 1 = verified; null = complete */
  have: Uint8Array | null
  /** told of each chunk a partial copy gains (the fetch server's HAVE frames); `follower` is the asking PeerId */
  onHave: (listener: (index: number) => void, follower: string) => () => void
  /** peers that asked this partial copy HAVE: downloaders of the same content (most serve too) */
  readonly followers: Set<string>
  /** chunk bytes served from this entry */
  served: number
}

export interface CatalogFile {
  id: Uint8Array
  path: string
  size: number
  /** a download in progress (see addPartial) */
  partial?: boolean
}

export type CatalogChange =
  | { type: 'add', file: CatalogFile }
  | { type: 'remove', path: string }

export class Catalog {
  private readonly byId = new Map<string, SharedEntry>()
  private readonly byPath = new Map<string, { key: string, abs: string, size: number }>()
  private readonly listeners = new Set<(change: CatalogChange) => void>()
  private readonly haveListeners = new Map<SharedEntry, Set<(index: number) => void>>()
  /** every file, for LIST pages; dropped on every change */
  private snapshot: CatalogFile[] | null = null

  /** Adds or replaces the file at relative `path`, hashed from `source`. */
  add (path: string, absPath: string, id: Uint8Array, manifest: Manifest, source: ServedSource): void {
    const key = keyOf(id)
    const previous = this.byPath.get(path)
    if (previous?.key === key && previous.abs === absPath) {
      // the same content again (touched, copied over): only what to check changes
      this.byId.get(key)?.sources.set(absPath, source)
      return
    }
    if (previous != null) this.detach(path)
    let entry = this.byId.get(key)
    if (entry == null) {
      entry = this.newEntry(id, manifest, null)
      this.byId.set(key, entry)
    }
    entry.files.set(absPath, path)
    entry.sources.set(absPath, source)
    this.byPath.set(path, { key, abs: absPath, size: manifest.size })
    this.emit({ type: 'add', file: { id, path, size: manifest.size, partial: entry.have != null } })
  }

  /**
   * Serves the verified chunks of a download in progress: `have` (one byte per chunk, 1 =
   * verified and written in `absPath`) is kept by reference, `gained` announces each new
   * chunk. False (nothing added) when `path` or the id is in the catalog already.
   */
  addPartial (path: string, absPath: string, id: Uint8Array, manifest: Manifest, have: Uint8Array): boolean {
    const key = keyOf(id)
    if (this.byId.has(key) || this.byPath.has(path)) return false
    const entry = this.newEntry(id, manifest, have)
    entry.files.set(absPath, path)
    // the part file is written while served: its identity is not checked (ServedContent.have)
    entry.sources.set(absPath, { open: absPath, identity: { dev: 0, ino: 0, size: manifest.size, mtimeMs: 0 } as any })
    this.byId.set(key, entry)
    this.byPath.set(path, { key, abs: absPath, size: manifest.size })
    this.emit({ type: 'add', file: { id, path, size: manifest.size, partial: true } })
    return true
  }

  /** Chunk `index` of the partial copy of `id` is verified and written: tell who follows it. */
  gained (id: Uint8Array, index: number): void {
    const entry = this.byId.get(keyOf(id))
    if (entry?.have == null) return
    entry.have[index] = 1
    for (const listener of this.haveListeners.get(entry) ?? []) listener(index)
  }

  /** The partial copy at `path` is complete and now lives at `absPath`: served (and registered) as complete, hashed as `source`. */
  completePartial (path: string, absPath: string, source: ServedSource): void {
    const current = this.byPath.get(path)
    const entry = current != null ? this.byId.get(current.key) : undefined
    if (current == null || entry == null) return
    entry.files.delete(current.abs)
    entry.sources.delete(current.abs)
    entry.files.set(absPath, path)
    entry.sources.set(absPath, source)
    entry.have = null
    current.abs = absPath
    this.emit({ type: 'add', file: { id: entry.id, path, size: entry.manifest.size, partial: false } })
  }

  private newEntry (id: Uint8Array, manifest: Manifest, have: Uint8Array | null): SharedEntry {
    const listeners = new Set<(index: number) => void>()
    const followers = new Set<string>()
    const entry: SharedEntry = {
      id,
      manifest,
      files: new Map(),
      sources: new Map(),
      have,
      served: 0,
      followers,
      onHave: (listener, follower) => {
        listeners.add(listener)
        if (followers.size < MAX_FOLLOWERS_KEPT) followers.add(follower)
        return () => { listeners.delete(listener) }
      }
    }
    this.haveListeners.set(entry, listeners)
    return entry
  }

  remove (path: string): boolean {
    if (!this.detach(path)) return false
    this.emit({ type: 'remove', path })
    return true
  }

  private detach (path: string): boolean {
    const current = this.byPath.get(path)
    if (current == null) return false
    this.byPath.delete(path)
    const entry = this.byId.get(current.key)
    if (entry != null) {
      entry.files.delete(current.abs)
      entry.sources.delete(current.abs)
      if (entry.files.size === 0) {
        this.byId.delete(current.key)
        this.haveListeners.delete(entry)
      }
    }
    return true
  }

  get (id: Uint8Array): SharedEntry | undefined {
    return this.byId.get(keyOf(id))
  }

  /** The relative path of the file at absolute `absPath` (undefined when not shared). */
  pathOf (id: Uint8Array, absPath: string): string | undefined {
    return this.byId.get(keyOf(id))?.files.get(absPath)
  }

  has (path: string): boolean {
    return this.byPath.has(path)
  }

  paths (): IterableIterator<string> {
    return this.byPath.keys()
  }

  /** Every shared file, for a full announcement. */
  * files (): Generator<CatalogFile> {
    for (const [path, { key, size }] of this.byPath) {
      const entry = this.byId.get(key)!
      yield { id: entry.id, path, size, partial: entry.have != null }
    }
  }

  get size (): number {
    return this.byPath.size
  }

  /** Files whose file name or relative path is exactly `name`. */
  findByName (name: string, limit: number): CatalogFile[] {
    const out: CatalogFile[] = []
    for (const file of this.files()) {
      if (file.path === name || baseName(file.path) === name) {
        out.push(file)
        if (out.length >= limit) break
      }
    }
    return out
  }

  /**
   * At most `limit` files in path order, from the first whose path sorts after `after` (a
   * cursor: the last path of the previous page, so that files added or removed meanwhile
   * neither shift nor repeat the others), or from the `offset`-th on without one; and how
   * many there are. A page costs O(limit + log n): the sorted list is taken once per change
   * of the catalog (a stranger asking for far pages again and again walks no map).
   */
  list (offset: number, limit: number, after?: string): { files: CatalogFile[], total: number } {
    const sorted = this.snapshot ??= [...this.files()].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
    let start = offset
    if (after != null && after !== '') {
      // binary search: the first path > after
      let lo = 0
      let hi = sorted.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if (sorted[mid].path <= after) lo = mid + 1
        else hi = mid
      }
      start = lo
    }
    return { files: sorted.slice(start, start + limit), total: sorted.length }
  }

  onChange (listener: (change: CatalogChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit (change: CatalogChange): void {
    this.snapshot = null
    for (const l of this.listeners) l(change)
  }
}

function keyOf (id: Uint8Array): string {
  return u8ToString(id, 'base64')
}
