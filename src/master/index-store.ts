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

export interface FileRecord {
  id: Uint8Array
  path: string
  size: number
  /** a download in progress (default: complete) */
  partial?: boolean
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

export class IndexStore {
  private readonly db: Database.Database
  private readonly stmts: ReturnType<IndexStore['prepare']>

  constructor (dataDir: string | null) {
    if (dataDir != null) mkdirSync(dataDir, { recursive: true })
    this.db = new Database(dataDir == null ? ':memory:' : join(dataDir, INDEX_FILE))
    this.db.pragma('journal_mode = WAL')
    this.db.pragma('synchronous = NORMAL')
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
      UPDATE peers SET live = 0;
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
    // schema 2: partial records (downloads in progress that serve what they verified)
    if (!(this.db.pragma('table_info(files)') as Array<{ name: string }>).some(c => c.name === 'partial')) {
      this.db.exec('ALTER TABLE files ADD COLUMN partial INTEGER NOT NULL DEFAULT 0')
    }
    this.stmts = this.prepare()
  }

  private prepare () {
    const db = this.db
    return {
      setLive: db.prepare('INSERT INTO peers (peer, live, last_seen) VALUES (?, ?, ?) ON CONFLICT (peer) DO UPDATE SET live = excluded.live, last_seen = excluded.last_seen'),
      setNotLive: db.prepare('UPDATE peers SET live = 0, last_seen = ? WHERE peer = ?'),
      countPeers: db.prepare('SELECT COUNT(*) FROM peers').pluck(),
      isLive: db.prepare('SELECT live FROM peers WHERE peer = ?').pluck(),
      deletePeerFiles: db.prepare('DELETE FROM files WHERE peer = ?'),
      upsertFile: db.prepare(`INSERT INTO files (peer, path, name, id, size, partial) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (peer, path) DO UPDATE SET name = excluded.name, id = excluded.id, size = excluded.size, partial = excluded.partial
        WHERE files.id != excluded.id OR files.size != excluded.size OR files.partial != excluded.partial`),
      deleteFile: db.prepare('DELETE FROM files WHERE peer = ? AND path = ?'),
      countFiles: db.prepare('SELECT COUNT(*) FROM files WHERE peer = ?').pluck(),
      providers: db.prepare(`SELECT DISTINCT f.peer FROM files f JOIN peers p ON p.peer = f.peer AND p.live = 1
        WHERE f.id = ? LIMIT ?`).pluck(),
      partialPeers: db.prepare(`SELECT f.peer FROM files f JOIN peers p ON p.peer = f.peer AND p.live = 1
        WHERE f.id = ? GROUP BY f.peer HAVING MIN(f.partial) = 1`).pluck(),
      describe: db.prepare(`SELECT f.id, f.name, f.path, f.size, COUNT(DISTINCT f.peer) AS providers,
        COUNT(DISTINCT CASE WHEN f.partial = 0 THEN f.peer END) AS seeders
        FROM files f JOIN peers p ON p.peer = f.peer AND p.live = 1 WHERE f.id = ? GROUP BY f.id`),
      byName: db.prepare(`SELECT f.id, f.name, f.path, f.size, COUNT(DISTINCT f.peer) AS providers,
        COUNT(DISTINCT CASE WHEN f.partial = 0 THEN f.peer END) AS seeders
        FROM files f JOIN peers p ON p.peer = f.peer AND p.live = 1
        WHERE f.name = @q OR f.path = @q GROUP BY f.id ORDER BY providers DESC LIMIT @limit`),
      search: db.prepare(`SELECT f.id, f.name, f.path, f.size, COUNT(DISTINCT f.peer) AS providers,
        COUNT(DISTINCT CASE WHEN f.partial = 0 THEN f.peer END) AS seeders
        FROM (SELECT rowid FROM names WHERE names MATCH @q LIMIT ${SEARCH_SCAN_LIMIT}) m
        JOIN files f ON f.rowid = m.rowid
        JOIN peers p ON p.peer = f.peer AND p.live = 1
        GROUP BY f.id ORDER BY providers DESC, f.name LIMIT @limit`)
    }
  }

  /**
   * Marks `peer` live (a registration: creates its row) or not live (only a peer that has a
   * row: a key that merely connected leaves nothing behind).
   */
  setLive (peer: string, live: boolean): void {
    if (live) this.stmts.setLive.run(peer, 1, Date.now())
    else this.stmts.setNotLive.run(Date.now(), peer)
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

  /** Replaces (reset) or extends the peer's file set; returns the peer's file count. */
  addFiles (peer: string, files: FileRecord[], reset: boolean): number {
    this.db.transaction(() => {
      if (reset) this.stmts.deletePeerFiles.run(peer)
      for (const f of files) {
        this.stmts.upsertFile.run(peer, f.path, baseName(f.path), Buffer.from(f.id), f.size, f.partial === true ? 1 : 0)
      }
    })()
    return this.fileCount(peer)
  }

  removePaths (peer: string, paths: string[]): number {
    this.db.transaction(() => {
      for (const path of paths) this.stmts.deleteFile.run(peer, path)
    })()
    return this.fileCount(peer)
  }

  /** Live peers that share `id`. */
  providers (id: Uint8Array, limit: number): string[] {
    return this.stmts.providers.all(Buffer.from(id), limit) as string[]
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
    return (this.stmts.byName.all({ q: name, limit }) as any[]).map(toHit)
  }

  /** Word / word-prefix search over paths; an empty result for a query with no words. */
  search (query: string, limit: number): SearchHit[] {
    const match = ftsQuery(query)
    if (match == null) return []
    return (this.stmts.search.all({ q: match, limit }) as any[]).map(toHit)
  }

  close (): void {
    if (this.db.open) this.db.close()
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
