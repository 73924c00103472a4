/**
 * Content ids of shared files, cached per (absolute path, size, mtime, inode) in a small
 * SQLite file under the peer's data folder (`<data>/share-cache.sqlite`), so a restarted
 * peer does not re-hash files that did not change. A row whose fingerprint no longer
 * matches the file is simply a miss; rows of files that are gone are pruned after a full
 * scan. Without a data folder the cache lives in memory for the life of the process.
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join, sep } from 'node:path'
import { manifestRoot, type Manifest } from '../../content/content-id.js'

const HASH_CACHE_FILE = 'share-cache.sqlite'

export interface Fingerprint {
  size: number
  mtimeMs: number
  ino: number
}

export interface CachedHash {
  id: Uint8Array
  manifest: Manifest
}

export class HashCache {
  private readonly db: Database.Database
  private readonly stmts: ReturnType<HashCache['prepare']>

  constructor (dataDir: string | null) {
    if (dataDir != null) mkdirSync(dataDir, { recursive: true })
    this.db = new Database(dataDir == null ? ':memory:' : join(dataDir, HASH_CACHE_FILE))
    this.db.pragma('journal_mode = WAL')
    // a cache: losing the last writes on a power cut only costs a re-hash
    this.db.pragma('synchronous = OFF')
    this.db.exec(`CREATE TABLE IF NOT EXISTS hashes (
      path TEXT PRIMARY KEY,
      size INTEGER NOT NULL,
      mtime REAL NOT NULL,
      ino INTEGER NOT NULL,
      chunk_size INTEGER NOT NULL,
      chunk_hashes BLOB NOT NULL
    )`)
    this.stmts = this.prepare()
  }

  private prepare () {
    return {
      get: this.db.prepare('SELECT chunk_size, chunk_hashes FROM hashes WHERE path = ? AND size = ? AND mtime = ? AND ino = ?'),
      put: this.db.prepare('INSERT OR REPLACE INTO hashes (path, size, mtime, ino, chunk_size, chunk_hashes) VALUES (?, ?, ?, ?, ?, ?)'),
      delete: this.db.prepare('DELETE FROM hashes WHERE path = ?'),
      under: this.db.prepare('SELECT path FROM hashes WHERE path > ? AND path < ?').pluck()
    }
  }

  get (abs: string, fp: Fingerprint): CachedHash | undefined {
    const row = this.stmts.get.get(abs, fp.size, fp.mtimeMs, fp.ino) as { chunk_size: number, chunk_hashes: Buffer } | undefined
    if (row == null) return undefined
    const manifest: Manifest = { size: fp.size, chunkSize: row.chunk_size, chunkHashes: new Uint8Array(row.chunk_hashes) }
    // the id is recomputed (cheap), so a damaged row can only cause a miss-match the downloader detects
    return { id: manifestRoot(manifest), manifest }
  }

  put (abs: string, fp: Fingerprint, manifest: Manifest): void {
    this.stmts.put.run(abs, fp.size, fp.mtimeMs, fp.ino, manifest.chunkSize, Buffer.from(manifest.chunkHashes))
  }

  delete (abs: string): void {
    this.stmts.delete.run(abs)
  }

  /** Deletes the rows below folder `root` whose path `keep` rejects; returns how many. */
  prune (root: string, keep: (abs: string) => boolean): number {
    const prefix = root.endsWith(sep) ? root : root + sep
    // '/' + 1 = '0': every path that starts with `prefix` sorts below prefix-with-'0'
    const stale: string[] = []
    for (const path of this.stmts.under.iterate(prefix, prefix.slice(0, -1) + String.fromCharCode(sep.charCodeAt(0) + 1)) as IterableIterator<string>) {
      if (!keep(path)) stale.push(path)
    }
    this.db.transaction(() => { for (const p of stale) this.stmts.delete.run(p) })()
    return stale.length
  }

  close (): void {
    if (this.db.open) this.db.close()
  }
}
