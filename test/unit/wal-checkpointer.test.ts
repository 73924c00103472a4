/**
 * The index's log checkpointer (src/master/wal-checkpointer.ts): a thread copies the log
 * into the database; a log that cannot be copied whole and grows too long turns SQLite's
 * automatic checkpoint back on, and off again once a checkpoint copies it whole.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { WalCheckpointer } from '../../src/master/wal-checkpointer.js'
import { tempDir } from '../helpers/swarm.js'

describe('WAL checkpointer', () => {
  it('a log kept from being copied whole (an old reader) turns the automatic checkpoint on past the bound, and off once copied', async () => {
    const dir = await tempDir()
    const file = join(dir.path, 'index.sqlite')
    const db = new Database(file)
    db.pragma('journal_mode = WAL')
    db.exec('CREATE TABLE t (x BLOB)')
    const checkpointer = new WalCheckpointer(db, file, 20)
    const reader = new Database(file)
    try {
      const auto = (): number => db.pragma('wal_autocheckpoint', { simple: true }) as number
      assert.equal(auto(), 0, "the master's connection does not checkpoint")
      const insert = db.prepare('INSERT INTO t VALUES (randomblob(4000))')
      for (let i = 0; i < 10; i++) insert.run()
      // a reader in the middle of a transaction: its snapshot must stay, so the log cannot be copied whole
      reader.exec('BEGIN')
      reader.prepare('SELECT COUNT(*) FROM t').get()
      for (let i = 0; i < 100; i++) insert.run()
      assert.equal(await checkpointer.checkpoint(), false)
      assert.equal(auto(), 1000, 'the automatic checkpoint is back while the log is too long')
      reader.exec('COMMIT')
      assert.equal(await checkpointer.checkpoint(), true)
      assert.equal(auto(), 0, 'and off again once the log was copied whole')
    } finally {
      reader.close()
      await checkpointer.stop()
      db.close()
      await dir.cleanup()
    }
  })
})
