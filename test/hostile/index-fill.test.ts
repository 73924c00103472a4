/**
 * Issue 10, item 2: the index cannot be filled. Keys registering thousands of records with
 * 900-character paths meet the per-IP and the global record caps (a second loopback
 * address, 127.0.0.2, plays another household); records of peers gone for longer than
 * pruneAfterMs are deleted; a storage error (injected, and a real full disk on a small
 * tmpfs when running as root) refuses registrations with STORAGE_FULL while lookups and
 * searches go on, never crashes the master (not even from the liveness timer), and the
 * master restarts on the full disk.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import { attacker, registerAs, type Attacker } from '../helpers/attackers.js'
import type { Master, Peer } from '../../src/index.js'
import { FileShareError } from '../../src/errors.js'

/** `n` records with 900-character paths (components of at most 200 characters). */
function bigRecords (n: number, tag: string): Array<{ id: Uint8Array, path: string, size: number }> {
  const dirs = Array.from({ length: 4 }, (_, k) => `${tag}${k}`.padEnd(200, 'x')).join('/')
  return Array.from({ length: n }, (_, i) => ({ id: new Uint8Array(randomBytes(32)), path: `${dirs}/${String(i).padStart(80, '0')}.bin`, size: i }))
}

async function refusal (act: () => Promise<unknown>): Promise<FileShareError> {
  try {
    await act()
  } catch (err) {
    assert.ok(err instanceof FileShareError, String(err))
    return err
  }
  assert.fail('the registration was accepted')
}

describe('hostile index filling: caps, pruning, storage errors', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  const nodes: Attacker[] = []

  before(async () => {
    dir = await tempDir()
  })

  after(async () => {
    await Promise.all(nodes.map(async n => { await Promise.resolve(n.stop()).catch(() => {}) }))
    await dir?.cleanup()
  })

  async function key (from?: string): Promise<Attacker> {
    const n = await attacker({ from })
    nodes.push(n)
    return n
  }

  it('per-IP and global record caps: a household is capped, the index as a whole too; searches go on', async () => {
    const master = await startMaster(join(dir.path, 'caps'), { maxFilesPerPeer: 1500, maxRecordsPerIp: 2000, maxRecords: 2600 })
    const share = join(dir.path, 'caps-share')
    await mkdir(share)
    await writeRandomFile(join(share, 'honest-file.bin'), 1000)
    const honest = await startPeer(master, { share, settleMs: 0, reachability: 'public', listen: [] })
    const searcher = await startPeer(master, { listen: [] })
    try {
      await waitFor(() => honest.registered(), 15_000, 'registration')
      const addr = master.addrs()[0]
      // two keys from 127.0.0.1 fill its allowance (with the honest peer's record)
      assert.equal(await registerAs(await key(), addr, bigRecords(1000, 'a')), 1000)
      assert.equal(await registerAs(await key(), addr, bigRecords(998, 'b')), 998)
      const perIp = await refusal(async () => await registerAs(await key(), addr, bigRecords(10, 'c')))
      assert.equal(perIp.code, 'QUOTA_EXCEEDED')
      assert.match(perIp.message, /from one IP address/)
      // another IP gets its own allowance, up to the global cap
      assert.equal(await registerAs(await key('127.0.0.2'), addr, bigRecords(500, 'd')), 500)
      const full = await refusal(async () => await registerAs(await key('127.0.0.2'), addr, bigRecords(200, 'e')))
      assert.equal(full.code, 'STORAGE_FULL')
      assert.match(full.message, /index is full/)
      assert.ok(master.index.totalFiles() <= 2600, `${master.index.totalFiles()} records`)
      // lookups and searches are still served
      const hits = await searcher.search('honest')
      assert.equal(hits.length, 1)
    } finally {
      await searcher.stop()
      await honest.stop()
      await master.stop()
    }
  })

  it('records of peers not seen for pruneAfterMs are deleted', async () => {
    const master = await startMaster(join(dir.path, 'prune'), { pruneAfterMs: 1000, providerGraceMs: 200 })
    try {
      const gone = await attacker()
      const id = gone.peerId.toString()
      assert.equal(await registerAs(gone, master.addrs()[0], bigRecords(300, 'p')), 300)
      assert.equal(master.index.totalFiles(), 300)
      await gone.stop()
      await waitFor(() => master.index.isLive(id) === false, 10_000, 'not live')
      await waitFor(() => master.index.totalFiles() === 0, 15_000, 'pruned')
      assert.equal(master.index.peerCount(), 0, 'the row is gone too')
      assert.equal(master.index.isLive(id), undefined)
    } finally {
      await master.stop()
    }
  })

  it('an injected storage error: registrations get STORAGE_FULL, searches are served, the liveness timer does not crash the master', async () => {
    const master = await startMaster(join(dir.path, 'inject'), { providerGraceMs: 200 })
    const share = join(dir.path, 'inject-share')
    await mkdir(share)
    await writeRandomFile(join(share, 'kept-file.bin'), 1000)
    const sharer = await startPeer(master, { share, settleMs: 0, reachability: 'public', listen: [] })
    const searcher = await startPeer(master, { listen: [] })
    try {
      await waitFor(() => sharer.registered(), 15_000, 'registration')
      const diskFull = (): never => { throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }) }
      master.index.addFiles = diskFull
      master.index.setLive = diskFull
      const err = await refusal(async () => await registerAs(await key(), master.addrs()[0], bigRecords(5, 'i')))
      assert.equal(err.code, 'STORAGE_FULL')
      assert.match(err.message, /storage full/)
      // the sharer leaves: the liveness timer's write fails inside a timer, and is only logged
      await sharer.stop()
      await new Promise(resolve => setTimeout(resolve, 1000))
      assert.equal((await searcher.search('kept')).length, 1, 'searches are still answered')
    } finally {
      await searcher.stop()
      await sharer.stop()
      await master.stop()
    }
  })

  it('a real full disk (a small tmpfs): STORAGE_FULL, lookups go on, no crash, and the master restarts on it', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root to mount a tmpfs')
      return
    }
    const mnt = await mkdtemp(join(tmpdir(), 'fileshare-tmpfs-'))
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt])
    } catch (err: any) {
      await rm(mnt, { recursive: true, force: true })
      t.skip(`cannot mount a tmpfs: ${err?.message ?? err}`)
      return
    }
    const data = join(mnt, 'master')
    const limits = { maxFilesPerPeer: 1_000_000, maxRecords: 1e12, maxRecordsPerIp: 1e12, maxIndexBytes: 1e15, providerGraceMs: 200 }
    let master: Master | null = null
    let searcher: Peer | null = null
    let sharer: Peer | null = null
    try {
      master = await startMaster(dir.path, { data, ...limits })
      const share = join(dir.path, 'tmpfs-share')
      await mkdir(share)
      await writeRandomFile(join(share, 'before-full.bin'), 1000)
      sharer = await startPeer(master, { share, settleMs: 0, reachability: 'public', listen: [] })
      searcher = await startPeer(master, { listen: [] })
      await waitFor(() => sharer!.registered(), 15_000, 'registration')
      const filler = await key()
      const { MasterClient } = await import('../../src/peer/master-client.js')
      const { multiaddr } = await import('@multiformats/multiaddr')
      const client = new MasterClient(filler as any, multiaddr(master.addrs()[0]))
      let code: string | undefined
      for (let batch = 0; batch < 200 && code == null; batch++) {
        try {
          await client.registry.add(bigRecords(200, `f${batch}-`))
        } catch (err) {
          if (err instanceof FileShareError && err.code === 'RATE_LIMITED') continue
          assert.ok(err instanceof FileShareError)
          code = err.code
        }
      }
      assert.equal(code, 'STORAGE_FULL', 'the disk filled up and registrations were refused')
      console.log(`# tmpfs full after ${master.index.totalFiles()} records`)
      assert.equal((await searcher.search('before')).length, 1, 'searches are served on a full disk')
      // a peer leaves: the liveness timer writes to a full disk, and the master lives on
      await sharer.stop()
      sharer = null
      await new Promise(resolve => setTimeout(resolve, 1000))
      assert.ok((await searcher.search('before')).length <= 1)

      await master.stop()
      master = null
      master = await startMaster(dir.path, { data, ...limits })
      console.log(`# restarted on the full disk: ${master.index.startupError ?? 'no startup error'}`)
      await searcher.stop()
      searcher = await startPeer(master, { listen: [] })
      const again = await searcher.search('before')
      assert.ok(again.length <= 1, 'the restarted master answers searches')
      const err = await refusal(async () => await registerAs(await key(), master!.addrs()[0], bigRecords(200, 'late')))
      assert.equal(err.code, 'STORAGE_FULL')
    } finally {
      await sharer?.stop()
      await searcher?.stop()
      await master?.stop()
      try { execFileSync('umount', [mnt]) } catch {}
      await rm(mnt, { recursive: true, force: true })
    }
  })
})
