/**
 * Live folders: a sharing peer follows its folder (fs.watch, no periodic rescan in these
 * tests so the watcher is what is proven), files still being written are not announced,
 * hashes are cached under --data across restarts, symlinks leading out are not shared,
 * and a 10 000-file tree is scanned once and then served from the cache.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile, rm, rename, symlink, open, appendFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'
import { Catalog } from '../../src/peer/catalog.js'
import { ShareFolder } from '../../src/peer/share/scanner.js'
import { HashCache } from '../../src/peer/share/hash-cache.js'
import { FolderWatcher } from '../../src/peer/share/watcher.js'
import { hashFile } from '../../src/content/hash-file.js'
import { formatContentId, parseContentId } from '../../src/content/content-id.js'

// generous against a loaded machine: the writer below pauses 40 ms between writes
const SETTLE_MS = 400

describe('live folders: the index follows the shared folder', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let client: Peer
  let share: string
  const data = (): string => join(dir.path, 'data')

  const names = async (words: string): Promise<string[]> => (await client.search(words)).map(r => r.path).sort()

  before(async () => {
    dir = await tempDir()
    share = join(dir.path, 'share')
    await mkdir(join(share, 'sub'), { recursive: true })
    await writeRandomFile(join(share, 'first.bin'), 4_000)
    await writeRandomFile(join(share, 'sub', 'second.bin'), 4_000)
    master = await startMaster(dir.path)
    sharer = await startPeer(master, { share, data: data(), settleMs: SETTLE_MS, rescanIntervalMs: 0 })
    client = await startPeer(master)
    await waitFor(() => sharer.registered(), 10_000, 'registration')
  })

  after(async () => {
    await client?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('registers a new file, in a new folder too', async () => {
    await writeRandomFile(join(share, 'added.bin'), 3_000)
    await mkdir(join(share, 'new', 'deep'), { recursive: true })
    await writeRandomFile(join(share, 'new', 'deep', 'nested-add.bin'), 3_000)
    await waitFor(async () => (await names('added')).length === 1 && (await names('nested')).length === 1, 10_000, 'new files in the index')
    assert.deepEqual(await names('nested'), ['new/deep/nested-add.bin'])
  })

  it('re-hashes a changed file and withdraws its old id', async () => {
    const [before] = await client.search('first')
    await writeRandomFile(join(share, 'first.bin'), 5_000)
    await waitFor(async () => (await client.search('first'))[0]?.id !== before.id && (await client.search('first')).length === 1, 10_000, 'new id')
    const [after] = await client.search('first')
    assert.equal(after.size, 5_000)
    assert.equal(after.id, formatContentId((await hashFile(join(share, 'first.bin'))).id))
    const old = await client.master!.providers(parseContentId(before.id))
    assert.equal(old.providers.length, 0, 'the old id has no provider left')
  })

  it('withdraws removed and renamed files, and whole removed folders', async () => {
    await rename(join(share, 'added.bin'), join(share, 'renamed.bin'))
    await rm(join(share, 'new'), { recursive: true })
    await waitFor(async () => (await names('added')).length === 0 && (await names('renamed')).length === 1 && (await names('nested')).length === 0,
      10_000, 'rename and removal reflected')
    await rename(join(share, 'sub'), join(share, 'moved'))
    await waitFor(async () => (await names('second')).join() === 'moved/second.bin', 10_000, 'moved folder')
    assert.equal(sharer.catalog.has('sub/second.bin'), false)
  })

  it('does not announce a file while it is being written', async () => {
    const path = join(share, 'growing.log')
    const fh = await open(path, 'w')
    let announcedEarly = false
    const unsubscribe = sharer.catalog.onChange(change => {
      if (change.type === 'add' && change.file.path === 'growing.log') announcedEarly = writing
    })
    let writing = true
    // the longest pause between two writes: the premise "the file keeps changing" holds only
    // while it stays below the settle period (a loaded machine can stretch a 40 ms pause)
    let longestPause = 0
    let last = Date.now()
    try {
      // keeps writing for several settle periods: each write moves mtime forward
      for (let i = 0; i < 12; i++) {
        await fh.write(Buffer.alloc(1000, i))
        const now = Date.now()
        if (i > 0) longestPause = Math.max(longestPause, now - last)
        last = now
        await new Promise(resolve => setTimeout(resolve, 40))
      }
    } finally {
      writing = false
      await fh.close()
    }
    // the complete file, not an announcement of an earlier size
    await waitFor(async () => (await client.search('growing'))[0]?.size === 12_000, 10_000, 'finished file announced')
    unsubscribe()
    if (longestPause < SETTLE_MS) assert.equal(announcedEarly, false, 'no announcement while the writer was active')
    const [hit] = await client.search('growing')
    assert.equal(hit.size, 12_000)
    assert.equal(hit.id, formatContentId((await hashFile(path)).id))
  })

  it('restarted with the same --data, re-hashes nothing that did not change', async () => {
    const count = sharer.catalog.size
    await sharer.stop()
    await appendFile(join(share, 'renamed.bin'), 'x') // one file changed while the peer was down
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS + 50))
    sharer = await startPeer(master, { share, data: data(), settleMs: SETTLE_MS, rescanIntervalMs: 0 })
    await waitFor(() => sharer.registered(), 10_000, 're-registration')
    assert.equal(sharer.catalog.size, count)
    const stats = sharer.shareStats()!
    assert.equal(stats.hashed, 1, 'only the changed file is hashed again')
    assert.equal(stats.cached, count - 1)
    assert.equal((await names('renamed')).length, 1)
    assert.equal((await client.search('renamed'))[0].size, 3_001)
  })
})

describe('share folder scanning', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  before(async () => { dir = await tempDir() })
  after(async () => { await dir?.cleanup() })

  it('shares symlinks inside the folder, never ones leading out of it', async () => {
    const share = join(dir.path, 'links')
    const outside = join(dir.path, 'outside')
    await mkdir(join(share, 'in'), { recursive: true })
    await mkdir(outside)
    await writeFile(join(outside, 'secret.txt'), 'secret')
    await writeFile(join(share, 'in', 'real.txt'), 'real')
    await symlink(join(outside, 'secret.txt'), join(share, 'leak.txt'))
    await symlink(outside, join(share, 'leak-dir'))
    await symlink('../../outside/secret.txt', join(share, 'in', 'relative-leak.txt'))
    await symlink(join(share, 'in', 'real.txt'), join(share, 'alias.txt'))
    const catalog = new Catalog()
    const folder = new ShareFolder(share, catalog, { settleMs: 0 })
    await folder.scan()
    assert.deepEqual([...catalog.paths()].sort(), ['alias.txt', 'in/real.txt'])
    // a targeted rescan (what the watcher does) applies the same rule
    await folder.scanPaths(['leak.txt', 'leak-dir', 'leak-dir/secret.txt', 'in/relative-leak.txt', '../outside/secret.txt'])
    assert.deepEqual([...catalog.paths()].sort(), ['alias.txt', 'in/real.txt'])
    folder.close()
  })

  it('without fs.watch, the periodic rescan alone follows the folder', async () => {
    const share = join(dir.path, 'polled')
    await mkdir(share)
    await writeFile(join(share, 'old.txt'), 'old')
    const catalog = new Catalog()
    const folder = new ShareFolder(share, catalog, { settleMs: 0 })
    await folder.scan()
    const watcher = new FolderWatcher(folder, { watch: false, rescanIntervalMs: 100 })
    watcher.start()
    try {
      assert.equal(watcher.watching, false)
      await writeFile(join(share, 'new.txt'), 'new')
      await rm(join(share, 'old.txt'))
      await waitFor(() => catalog.has('new.txt') && !catalog.has('old.txt'), 10_000, 'rescan picked up the changes')
    } finally {
      await watcher.stop()
      folder.close()
    }
  })

  it('scans 10 000 files with bounded memory, and a restart takes every hash from the cache', async () => {
    const share = join(dir.path, 'big-tree')
    const data = join(dir.path, 'tree-data')
    for (let d = 0; d < 100; d++) {
      await mkdir(join(share, `dir-${d}`), { recursive: true })
      await Promise.all(Array.from({ length: 100 }, async (_, i) => { await writeFile(join(share, `dir-${d}`, `file-${i}.txt`), `${d}/${i}`) }))
    }
    global.gc?.()
    const heapBefore = process.memoryUsage().heapUsed
    let cache = new HashCache(data)
    let catalog = new Catalog()
    let folder = new ShareFolder(share, catalog, { cache, settleMs: 0 })
    assert.equal(await folder.scan(), 10_000)
    assert.equal(catalog.size, 10_000)
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore
    // the catalog holds 10 000 small entries; file contents and directory listings are never held at once
    assert.ok(heapGrowth < 200 * 1024 * 1024, `heap grew by ${heapGrowth} bytes`)
    cache.close()

    cache = new HashCache(data)
    catalog = new Catalog()
    folder = new ShareFolder(share, catalog, { cache, settleMs: 0 })
    assert.equal(await folder.scan(), 0, 'nothing re-hashed after a restart')
    assert.equal(folder.totals.cached, 10_000)
    assert.equal(catalog.size, 10_000)
    // removed files leave the cache too
    await rm(join(share, 'dir-0'), { recursive: true })
    await folder.scan()
    assert.equal(catalog.size, 9_900)
    cache.close()
  })
})
