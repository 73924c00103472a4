import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, writeFile, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'

describe('verification: a provider whose bytes no longer match its manifest', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let client: Peer
  let share: string
  let id: string
  const MTIME = new Date('2025-06-01T12:00:00Z')

  before(async () => {
    dir = await tempDir()
    share = join(dir.path, 'share')
    await mkdir(share)
    await writeRandomFile(join(share, 'changing.bin'), 3 * 1024 * 1024 + 100)
    // a whole-second mtime that can be put back exactly after the rewrite, so that a rescan
    // (size, mtime, inode unchanged) keeps the old manifest
    await utimes(join(share, 'changing.bin'), MTIME, MTIME)
    master = await startMaster(dir.path)
    sharer = await startPeer(master, { share })
    client = await startPeer(master)
    await waitFor(() => sharer.registered(), 10_000, 'registration')
    // same size, other bytes: the catalog still announces the old content id
    id = (await client.search('changing'))[0].id
    await writeFile(join(share, 'changing.bin'), randomBytes(3 * 1024 * 1024 + 100))
    await utimes(join(share, 'changing.bin'), MTIME, MTIME)
  })

  after(async () => {
    await client?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('fails with VERIFICATION_FAILED, drops the provider, and leaves no file behind', async () => {
    const out = join(dir.path, 'out')
    const events: any[] = []
    await assert.rejects(client.get(id, { out, onEvent: e => events.push(e) }), { code: 'VERIFICATION_FAILED' })
    const dropped = events.filter(e => e.event === 'provider-dropped')
    assert.equal(dropped.length, 1)
    assert.equal(dropped[0].peer, sharer.peerId)
    assert.match(dropped[0].reason, /verification/)
    assert.deepEqual(await readdir(out), [], 'neither the final name nor a part file')
  })
})
