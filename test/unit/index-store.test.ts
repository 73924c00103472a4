import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { IndexStore, ftsQuery, type FileRecord } from '../../src/master/index-store.js'
import { formatContentId } from '../../src/content/content-id.js'
import { tempDir } from '../helpers/swarm.js'

const id = (): Uint8Array => new Uint8Array(randomBytes(32))
const names = (hits: Array<{ path: string }>): string[] => hits.map(h => h.path).sort()

describe('IndexStore (SQLite + FTS5)', () => {
  let store: IndexStore
  const beach: FileRecord = { id: id(), path: 'Photos/Holiday 2025/Beach-Sunset.JPG', size: 3000 }
  const notes: FileRecord = { id: id(), path: 'docs/meeting notes.txt', size: 10 }
  const song: FileRecord = { id: id(), path: 'music/Été à Paris.mp3', size: 5000 }

  before(() => {
    store = new IndexStore(null)
    store.addFiles('peerA', [beach, notes, song], true)
    store.setLive('peerA', true)
  })
  after(() => { store.close() })

  it('searches words and word prefixes of names and folders, case-insensitively', () => {
    assert.deepEqual(names(store.search('beach', 10)), [beach.path])
    assert.deepEqual(names(store.search('BEA sun', 10)), [beach.path])
    assert.deepEqual(names(store.search('holi', 10)), [beach.path])
    assert.deepEqual(names(store.search('jpg', 10)), [beach.path])
    assert.deepEqual(names(store.search('meeting NOTES', 10)), [notes.path])
    assert.deepEqual(names(store.search('ete paris', 10)), [song.path], 'diacritics are folded')
    assert.deepEqual(store.search('beach notes', 10), [], 'every word must match')
    assert.deepEqual(store.search('xylophone', 10), [])
    const hit = store.search('sunset', 10)[0]
    assert.equal(hit.name, 'Beach-Sunset.JPG')
    assert.equal(hit.size, 3000)
    assert.equal(hit.providers, 1)
    assert.equal(formatContentId(hit.id), formatContentId(beach.id))
  })

  it('turns user input into a safe FTS query (no syntax gets through)', () => {
    assert.equal(ftsQuery('  '), null)
    assert.equal(ftsQuery('"*():-^'), null)
    assert.equal(ftsQuery('Holi OR phot*'), '"holi"* AND "or"* AND "phot"*')
    assert.equal(store.search('beach* "sunset', 10).length, 1)
    assert.deepEqual(store.search('NEAR(beach sunset)', 10), [], '"near" is just a word here')
    assert.deepEqual(store.search('") OR ("', 10), [])
  })

  it('caps the number of results', () => {
    const s = new IndexStore(null)
    s.addFiles('p', Array.from({ length: 30 }, (_, i) => ({ id: id(), path: `dir/file-${i}.bin`, size: i })), true)
    s.setLive('p', true)
    assert.equal(s.search('file', 7).length, 7)
    s.close()
  })

  it('counts only live peers: providers, search and describe', () => {
    store.addFiles('peerB', [{ ...beach, path: 'copy/beach-sunset.jpg' }], true)
    assert.deepEqual(store.providers(beach.id, 10).map(p => p.peer), ['peerA'], 'peerB never came live')
    store.setLive('peerB', true)
    assert.deepEqual(store.providers(beach.id, 10).map(p => p.peer).sort(), ['peerA', 'peerB'])
    assert.equal(store.describe(beach.id)?.providers, 2)
    store.setLive('peerA', false)
    assert.equal(store.isLive('peerA'), false)
    assert.deepEqual(store.providers(beach.id, 10).map(p => p.peer), ['peerB'])
    assert.deepEqual(store.search('notes', 10), [], 'only peerA shares the notes')
    assert.equal(store.describe(notes.id), undefined)
    store.setLive('peerA', true)
    assert.equal(store.search('notes', 10).length, 1)
    assert.equal(store.isLive('nobody'), undefined)
  })

  it('RESET replaces a peer\'s files, ADD extends and updates, REMOVE withdraws paths', () => {
    const s = new IndexStore(null)
    const a = { id: id(), path: 'a.txt', size: 1 }
    const b = { id: id(), path: 'b.txt', size: 2 }
    assert.equal(s.addFiles('p', [a, b], true), 2)
    s.setLive('p', true)
    const c = { id: id(), path: 'c.txt', size: 3 }
    assert.equal(s.addFiles('p', [c], false), 3)
    // a changed file: same path, new content
    const a2 = { id: id(), path: 'a.txt', size: 11 }
    assert.equal(s.addFiles('p', [a2], false), 3)
    assert.deepEqual(s.providers(a.id, 10), [])
    assert.deepEqual(s.providers(a2.id, 10).map(p => p.peer), ['p'])
    assert.equal(s.removePaths('p', ['b.txt', 'not-there.txt']), 2)
    assert.deepEqual(s.search('b', 10), [])
    assert.equal(s.addFiles('p', [b], true), 1)
    assert.deepEqual(names(s.search('txt', 10)), ['b.txt'])
    s.close()
  })

  it('findByName: exact file name or whole path, grouped by content id', () => {
    const s = new IndexStore(null)
    const same = id()
    s.addFiles('p1', [{ id: same, path: 'x/report.pdf', size: 5 }, { id: id(), path: 'y/report.pdf', size: 6 }], true)
    s.addFiles('p2', [{ id: same, path: 'report.pdf', size: 5 }], true)
    s.setLive('p1', true)
    s.setLive('p2', true)
    const hits = s.findByName('report.pdf', 10)
    assert.equal(hits.length, 2, 'two different contents carry that name')
    const shared = hits.find(h => formatContentId(h.id) === formatContentId(same))
    assert.equal(shared?.providers, 2)
    assert.equal(s.findByName('y/report.pdf', 10).length, 1)
    assert.equal(s.findByName('report', 10).length, 0, 'no prefix matching')
    assert.equal(s.findByName('REPORT.PDF', 10).length, 0, 'exact')
    s.close()
  })

  it('keeps records across a restart, with every peer not live until it reconnects', async () => {
    const dir = await tempDir()
    try {
      const s1 = new IndexStore(dir.path)
      s1.addFiles('p', [{ id: id(), path: 'kept.txt', size: 1 }], true)
      s1.setLive('p', true)
      await s1.close()
      const s2 = new IndexStore(dir.path)
      assert.equal(s2.isLive('p'), false)
      assert.equal(s2.fileCount('p'), 1)
      assert.deepEqual(s2.search('kept', 10), [])
      s2.setLive('p', true)
      assert.equal(s2.search('kept', 10).length, 1)
      await s2.close()
    } finally {
      await dir.cleanup()
    }
  })

  it('checkpoints its write-ahead log on a thread when asked; the log starts afresh instead of growing', async () => {
    const dir = await tempDir()
    const s = new IndexStore(dir.path)
    try {
      const db = join(dir.path, 'index.sqlite')
      const wal = `${db}-wal`
      const batch = (n: number): FileRecord[] => Array.from({ length: 500 }, (_, i) => ({ id: id(), path: `r${n}/${randomBytes(40).toString('hex')}-${i}.bin`, size: i }))
      s.addFiles('p', batch(0), false)
      const before = statSync(db).size
      await s.checkpoint()
      assert.ok(statSync(db).size > before + 100_000, 'the records reached the database file')
      s.addFiles('p', batch(1), false)
      await s.checkpoint()
      const oneRound = statSync(wal).size
      for (let n = 2; n < 12; n++) {
        s.addFiles('p', batch(n), false)
        await s.checkpoint()
      }
      // the main connection never checkpoints: without the thread the log holds all 12 batches
      assert.ok(statSync(wal).size < oneRound * 5, `the log is reused (${statSync(wal).size} bytes after 12 rounds, ${oneRound} after one)`)
      assert.equal(s.fileCount('p'), 12 * 500)
    } finally {
      await s.close()
      await dir.cleanup()
    }
  })
})
