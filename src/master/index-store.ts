/**
 * The master's index: which peer shares which content id under which path, and which
 * peers are live. SQLite (better-sqlite3 v12) in WAL mode under the data folder, with an
 * FTS5 table over paths for name search (words and word prefixes, case-insensitive).
 *
 * Liveness is a column, not a deletion: a peer's records stay on disk while it is away (so
 * a restart of either side costs one RESET announcement), but lookups and searches only
 * count peers marked live. Every peer is marked not live when the master starts.
 *
 * A record may be partial (a download in progress that serves its verified chunks): it
 * counts as a provider, and lookups tell it apart from complete copies (seeders).
 */
import Database from 'better-sqlite3'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { MAX_QUERY_WORDS } from './tuning.js'
import { baseName } from '../protocols/paths.js'
import { WalCheckpointer } from './wal-checkpointer.js'

export interface FileRecord {
  id: Uint8Array
  path: string
  size: number
  /** a download in progress (default: complete) */
  partial?: boolean
}

/** A live provider of a content id, as the index knows it. */
export interface ProviderCandidate {
  peer: string
  /** when the peer last became live (ms since the epoch): longer-lived providers rank higher */
  since: number
}

export interface SearchHit {
  id: Uint8Array
  name: string
  path: string
  size: number
  providers: number
  /** of `providers`, those with a complete copy */
  seeders: number
}

export const INDEX_FILE = 'index.sqlite'
/**
 * FTS matches examined per search before grouping by content id: keeps a broad query
 * ("a") bounded (≈ 2-6 ms over 1M names); results rank by live providers among these.
 */
const SEARCH_SCAN_LIMIT = 2_000
/**
 * Providers of one id examined per lookup: a window of this many, in PeerId order, from a
 * random offset (wrapping), so keys minted to sort first cannot fill every answer.
 */
export const PROVIDER_SCAN_LIMIT = 2_000
/** Rows deleted per prune transaction (the master keeps serving between them). */
const PRUNE_BATCH = 5_000

/**
 * SQLite errors that mean "the disk cannot take more" (or cannot be written at all): the
 * master refuses registrations with STORAGE_FULL and keeps serving lookups.
 */
export function isStorageError (err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB|BUSY|LOCKED|PROTOCOL)/.test(code)
}

export class IndexStore {
  private readonly db: Database.Database
  private readonly stmts: ReturnType<IndexStore['prepare']>
  /** records in the files table (kept here: COUNT(*) is a full scan) */
  private total = 0
  /**
   * Why the index could not be written at startup (a full disk): it still answers lookups
   * and searches, and liveness marks from before the restart may be stale until it can
   * write again.
   */
  readonly startupError: string | null = null
  /** null: an in-memory index, or one opened in exclusive mode (no second connection) */
  private readonly checkpointer: WalCheckpointer | null = null

  constructor (dataDir: string | null) {
    if (dataDir != null) mkdirSync(dataDir, { recursive: true })
    const file = dataDir == null ? ':memory:' : join(dataDir, INDEX_FILE)
    this.db = openDatabase(file)
    try {
      this.migrate()
    } catch (err) {
      // a full disk must not keep the master from starting: serve what is there
      if (!isStorageError(err) || this.db.pragma('user_version', { simple: true }) as number < SCHEMA_VERSION) throw err
      this.startupError = (err as Error).message
    }
    this.stmts = this.prepare()
    this.total = this.db.prepare('SELECT COUNT(*) FROM files').pluck().get() as number
    if (this.db.pragma('journal_mode', { simple: true }) === 'wal' && this.db.pragma('locking_mode', { simple: true }) !== 'exclusive') {
      this.checkpointer = new WalCheckpointer(this.db, file)
    }
  }

  private migrate (): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS peers (
        peer TEXT PRIMARY KEY,
        live INTEGER NOT NULL DEFAULT 0,
        last_seen INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS files (
        rowid INTEGER PRIMARY KEY,
        peer TEXT NOT NULL,
        path TEXT NOT NULL,
        name TEXT NOT NULL,
        id BLOB NOT NULL,
        size INTEGER NOT NULL,
        UNIQUE (peer, path)
      );
      CREATE INDEX IF NOT EXISTS files_by_id ON files (id, peer);
      CREATE INDEX IF NOT EXISTS files_by_name ON files (name);

      CREATE VIRTUAL TABLE IF NOT EXISTS names USING fts5 (
        path, content='files', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
      );
      CREATE TRIGGER IF NOT EXISTS files_ai AFTER INSERT ON files BEGIN
        INSERT INTO names (rowid, path) VALUES (new.rowid, new.path);
      END;
      CREATE TRIGGER IF NOT EXISTS files_ad AFTER DELETE ON files BEGIN
        INSERT INTO names (names, rowid, path) VALUES ('delete', old.rowid, old.path);
      END;
      CREATE TRIGGER IF NOT EXISTS files_au AFTER UPDATE ON files BEGIN
        INSERT INTO names (names, rowid, path) VALUES ('delete', old.rowid, old.path);
        INSERT INTO names (rowid, path) VALUES (new.rowid, new.path);
      END;
    `)
    // schema 1: the FTS table gets prefix indexes (1-3 letters), so a broad prefix like
    // "ho*" over a million names is one index lookup instead of a merge of every token
    if ((this.db.pragma('user_version', { simple: true }) as number) < 1) {
      this.db.exec(`
        DROP TABLE IF EXISTS names;
        CREATE VIRTUAL TABLE names USING fts5 (
          path, content='files', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
        );
        INSERT INTO names (names) VALUES ('rebuild');
        PRAGMA user_version = 1;
      `)
    }
    // schema 2: what the master's limits need: since when a peer is live (lookups prefer
    // long-lived providers), the IP it registered from and its file count (per-IP caps)
    if ((this.db.pragma('user_version', { simple: true }) as number) < 2) {
      this.db.transaction(() => {
        this.db.exec(`
          ALTER TABLE peers ADD COLUMN since INTEGER NOT NULL DEFAULT 0;
          ALTER TABLE peers ADD COLUMN ip TEXT;
          ALTER TABLE peers ADD COLUMN files INTEGER NOT NULL DEFAULT 0;
          CREATE INDEX peers_by_ip ON peers (ip);
          CREATE INDEX peers_by_seen ON peers (live, last_seen);
          UPDATE peers SET files = (SELECT COUNT(*) FROM files WHERE files.peer = peers.peer);
          PRAGMA user_version = 2;
        `)
      })()
    }
    // partial records (downloads in progress that serve what they verified)
    if (!(this.db.pragma('table_info(files)') as Array<{ name: string }>).some(c => c.name === 'partial')) {
      this.db.exec('ALTER TABLE files ADD COLUMN partial INTEGER NOT NULL DEFAULT 0')
    }
    this.db.exec('UPDATE peers SET live = 0')
  }

  private prepare () {
    const db = this.db
    return {
      setLive: db.prepare(`INSERT INTO peers (peer, live, last_seen, since) VALUES (@peer, 1, @now, @now) ON CONFLICT (peer) DO UPDATE
        SET since = CASE WHEN peers.live = 1 THEN peers.since ELSE excluded.since END, live = 1, last_seen = excluded.last_seen`),
      setCount: db.prepare(`INSERT INTO peers (peer, live, last_seen, ip, files) VALUES (@peer, 0, @now, @ip, @files) ON CONFLICT (peer) DO UPDATE
        SET files = excluded.files, ip = coalesce(excluded.ip, peers.ip)`),
      peerFiles: db.prepare('SELECT files FROM peers WHERE peer = ?').pluck(),
      ipFiles: db.prepare('SELECT coalesce(SUM(files), 0) FROM peers WHERE ip = ?').pluck(),
      stale: db.prepare(`SELECT peer FROM peers WHERE live = 0 AND last_seen < ? LIMIT ${PRUNE_BATCH}`).pluck(),
      staleFiles: db.prepare(`SELECT rowid FROM files WHERE peer = ? LIMIT ${PRUNE_BATCH}`).pluck(),
      deleteRow: db.prepare('DELETE FROM files WHERE rowid = ?'),
      deletePeer: db.prepare('DELETE FROM peers WHERE peer = ?'),
      setNotLive: db.prepare('UPDATE peers SET live = 0, last_seen = ? WHERE peer = ?'),
      countPeers: db.prepare('SELECT COUNT(*) FROM peers').pluck(),
      isLive: db.prepare('SELECT live FROM peers WHERE peer = ?').pluck(),
      deletePeerFiles: db.prepare('DELETE FROM files WHERE peer = ?'),
      upsertFile: db.prepare(`INSERT INTO files (peer, path, name, id, size, partial) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (peer, path) DO UPDATE SET name = excluded.name, id = excluded.id, size = excluded.size, partial = excluded.partial
        WHERE files.id != excluded.id OR files.size != excluded.size OR files.partial != excluded.partial`),
      deleteFile: db.prepare('DELETE FROM files WHERE peer = ? AND path = ?'),
      countFiles: db.prepare('SELECT COUNT(*) FROM files WHERE peer = ?').pluck(),
      countIdRows: db.prepare('SELECT COUNT(*) FROM files WHERE id = ?').pluck(),
      // CROSS JOIN: from the window of providers to their peer rows (left free, the planner scanned every live peer)
      providerWindow: db.prepare(`SELECT w.peer AS peer, p.since AS since
        FROM (SELECT DISTINCT peer FROM files WHERE id = @id ORDER BY peer LIMIT @limit OFFSET @offset) w
        CROSS JOIN peers p ON p.peer = w.peer AND p.live = 1`),
      partialPeers: db.prepare(`SELECT f.peer FROM files f JOIN peers p ON p.peer = f.peer AND p.live = 1
        WHERE f.id = ? GROUP BY f.peer HAVING MIN(f.partial) = 1`).pluck(),
      describe: db.prepare(`SELECT f.id, f.name, f.path, f.size, COUNT(DISTINCT f.peer) AS providers,
        COUNT(DISTINCT CASE WHEN f.partial = 0 THEN f.peer END) AS seeders
        FROM files f JOIN peers p ON p.peer = f.peer AND p.live = 1 WHERE f.id = ? GROUP BY f.id`),
      stats: db.prepare(`SELECT (SELECT COUNT(*) FROM files) AS files, (SELECT COUNT(DISTINCT id) FROM files) AS ids,
        (SELECT COUNT(*) FROM files f JOIN peers p ON p.peer = f.peer AND p.live = 1) AS liveFiles,
        (SELECT COUNT(*) FROM peers WHERE live = 1) AS livePeers`),
      livePeers: db.prepare(`SELECT p.peer, (SELECT COUNT(*) FROM files f WHERE f.peer = p.peer) AS files FROM peers p WHERE p.live = 1 ORDER BY p.peer LIMIT ?`),
      // by the name index (a path's name is its base name, so `path = q` has name = baseName(q));
      // CROSS JOIN: from those rows to their peers, not from every live peer's files (40 ms at 60 000 records)
      byName: db.prepare(`SELECT f.id, f.name, f.path, f.size, COUNT(DISTINCT f.peer) AS providers,
        COUNT(DISTINCT CASE WHEN f.partial = 0 THEN f.peer END) AS seeders
        FROM files f CROSS JOIN peers p ON p.peer = f.peer AND p.live = 1
        WHERE f.name IN (@q, @base) AND (f.name = @q OR f.path = @q) GROUP BY f.id ORDER BY providers DESC LIMIT @limit`),
      // CROSS JOIN keeps SQLite's join order: from the FTS matches to their rows. Left free, the
      // planner started from the live peers and read every file of each (14 ms for a query
      // matching one name among 60 000 records, 0.2 ms this way)
      search: db.prepare(`SELECT f.id, f.name, f.path, f.size, COUNT(DISTINCT f.peer) AS providers,
        COUNT(DISTINCT CASE WHEN f.partial = 0 THEN f.peer END) AS seeders
        FROM (SELECT rowid FROM names WHERE names MATCH @q LIMIT ${SEARCH_SCAN_LIMIT}) m
        CROSS JOIN files f ON f.rowid = m.rowid
        CROSS JOIN peers p ON p.peer = f.peer AND p.live = 1
        GROUP BY f.id ORDER BY providers DESC, f.name LIMIT @limit`)
    }
  }

  /**
   * Marks `peer` live (a registration: creates its row) or not live (only a peer that has a
   * row: a key that merely connected leaves nothing behind).
   */
  setLive (peer: string, live: boolean): void {
    if (live) this.stmts.setLive.run({ peer, now: Date.now() })
    else this.stmts.setNotLive.run(Date.now(), peer)
  }

  /** Records in the index, all peers. */
  totalFiles (): number {
    return this.total
  }

  /** Size of the index file (its pages; the WAL comes on top until a checkpoint), bytes. */
  sizeBytes (): number {
    return (this.db.pragma('page_count', { simple: true }) as number) * (this.db.pragma('page_size', { simple: true }) as number)
  }

  /** Records of the peers that registered from `ip`. */
  ipFileCount (ip: string): number {
    return this.stmts.ipFiles.get(ip) as number
  }

  /**
   * Deletes the records and rows of peers not live since before `cutoff` (ms since the
   * epoch), in bounded transactions; returns the records deleted.
   */
  prune (cutoff: number): number {
    let deleted = 0
    for (const peer of this.stmts.stale.all(cutoff) as string[]) {
      for (;;) {
        const rows = this.stmts.staleFiles.all(peer) as number[]
        if (rows.length === 0) break
        this.db.transaction(() => { for (const r of rows) this.stmts.deleteRow.run(r) })()
        deleted += rows.length
        this.total -= rows.length
      }
      this.stmts.deletePeer.run(peer)
    }
    return deleted
  }

  /** Rows of the peers table: peers that ever registered. */
  peerCount (): number {
    return this.stmts.countPeers.get() as number
  }

  /** undefined for a peer that never registered */
  isLive (peer: string): boolean | undefined {
    const live = this.stmts.isLive.get(peer)
    return live == null ? undefined : live === 1
  }

  fileCount (peer: string): number {
    return this.stmts.countFiles.get(peer) as number
  }

  /**
   * Replaces (reset) or extends the peer's file set; returns the peer's file count. `ip`:
   * the address the registration came from (the per-IP caps count by it).
   */
  addFiles (peer: string, files: FileRecord[], reset: boolean, ip?: string): number {
    return this.db.transaction(() => {
      if (reset) this.stmts.deletePeerFiles.run(peer)
      for (const f of files) {
        this.stmts.upsertFile.run(peer, f.path, baseName(f.path), Buffer.from(f.id), f.size, f.partial === true ? 1 : 0)
      }
      return this.recount(peer, ip)
    })()
  }

  removePaths (peer: string, paths: string[]): number {
    return this.db.transaction(() => {
      for (const path of paths) this.stmts.deleteFile.run(peer, path)
      return this.recount(peer)
    })()
  }

  /** Inside a transaction: the peer's file count, stored in its row, and the total updated. */
  private recount (peer: string, ip?: string): number {
    const row = this.stmts.peerFiles.get(peer) as number | undefined
    const before = row ?? 0
    const count = this.fileCount(peer)
    // a stranger's empty REMOVE leaves no row behind
    if (row == null && count === 0 && ip == null) return 0
    this.stmts.setCount.run({ peer, now: Date.now(), ip: ip ?? null, files: count })
    this.total += count - before
    return count
  }

  /**
   * Live peers that share `id`, not in `exclude`: at most `limit` of a window of
   * PROVIDER_SCAN_LIMIT that starts at a random offset (the caller ranks and samples them).
   */
  providers (id: Uint8Array, limit: number, exclude?: ReadonlySet<string>): ProviderCandidate[] {
    const key = Buffer.from(id)
    const rows = this.stmts.countIdRows.get(key) as number
    const scan = PROVIDER_SCAN_LIMIT
    let found: ProviderCandidate[]
    if (rows <= scan) {
      found = this.stmts.providerWindow.all({ id: key, limit: scan, offset: 0 }) as ProviderCandidate[]
    } else {
      const offset = Math.floor(Math.random() * rows)
      found = this.stmts.providerWindow.all({ id: key, limit: scan, offset }) as ProviderCandidate[]
      if (offset + scan > rows) found.push(...this.stmts.providerWindow.all({ id: key, limit: offset + scan - rows, offset: 0 }) as ProviderCandidate[])
    }
    const seen = new Set<string>()
    const out: ProviderCandidate[] = []
    for (const c of found) {
      if (seen.has(c.peer) || exclude?.has(c.peer) === true) continue
      seen.add(c.peer)
      out.push(c)
      if (out.length >= limit) break
    }
    return out
  }

  /** Live peers whose only copies of `id` are partial (downloads in progress). */
  partialProviders (id: Uint8Array): Set<string> {
    return new Set(this.stmts.partialPeers.all(Buffer.from(id)) as string[])
  }

  /** Name, size and live provider count of `id`, when a live peer shares it. */
  describe (id: Uint8Array): SearchHit | undefined {
    const row = this.stmts.describe.get(Buffer.from(id))
    return row == null ? undefined : toHit(row)
  }

  /** Files whose name or whole path is exactly `name`, grouped by content id. */
  findByName (name: string, limit: number): SearchHit[] {
    return (this.stmts.byName.all({ q: name, base: baseName(name), limit }) as any[]).map(toHit)
  }

  /** Word / word-prefix search over paths; an empty result for a query with no words. */
  search (query: string, limit: number): SearchHit[] {
    const match = ftsQuery(query)
    if (match == null) return []
    return (this.stmts.search.all({ q: match, limit }) as any[]).map(toHit)
  }

  /** Counts for dashboards: every file record, distinct content ids, records of live peers, live peers. */
  stats (): { files: number, ids: number, liveFiles: number, livePeers: number } {
    return this.stmts.stats.get() as { files: number, ids: number, liveFiles: number, livePeers: number }
  }

  /** Live peers with their file counts (at most `limit`). */
  livePeers (limit = 1000): Array<{ peer: string, files: number }> {
    return this.stmts.livePeers.all(limit) as Array<{ peer: string, files: number }>
  }

  /**
   * Copies the write-ahead log into the database on a thread; resolves once done (at once
   * for an index without one). Hold the index's writes until then, or it may not finish.
   */
  async checkpoint (): Promise<void> {
    await this.checkpointer?.checkpoint()
  }

  /** Closes the index (its checkpoint thread first: the master's connection is the last, and SQLite folds the log in). */
  async close (): Promise<void> {
    await this.checkpointer?.stop()
    if (this.db.open) this.db.close()
  }
}

const SCHEMA_VERSION = 2

/**
 * Opens the database in WAL mode. On a full disk WAL's shared-memory file may not be
 * creatable: the database is then opened in exclusive locking mode (the WAL index lives in
 * the process's memory; only this process uses the index anyway).
 */
function openDatabase (file: string): Database.Database {
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get()
    return db
  } catch (err) {
    if (!isStorageError(err) || file === ':memory:') throw err
    db.close()
    const again = new Database(file)
    again.pragma('locking_mode = EXCLUSIVE')
    again.pragma('synchronous = NORMAL')
    again.prepare('SELECT COUNT(*) FROM sqlite_master').get()
    return again
  }
}

function toHit (row: any): SearchHit {
  return { id: new Uint8Array(row.id), name: row.name, path: row.path, size: row.size, providers: row.providers, seeders: row.seeders }
}

/**
 * Turns user words into an FTS5 query: every word (letters and digits only, so no FTS
 * syntax gets through) must match a token or a token's prefix. "Holi phot" finds
 * "Holiday/photo-01.JPG".
 */
export function ftsQuery (query: string): string | null {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []
  if (words.length === 0) return null
  return words.slice(0, MAX_QUERY_WORDS).map(w => `"${w}"*`).join(' AND ')
}
