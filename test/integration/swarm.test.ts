import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'

describe('register → search → get (in-process swarm on 127.0.0.1)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let client: Peer
  let share: string

  before(async () => {
    dir = await tempDir()
    share = join(dir.path, 'share')
    await mkdir(join(share, 'Photos', 'Holiday 2025'), { recursive: true })
    await mkdir(join(share, 'docs'), { recursive: true })
    await writeRandomFile(join(share, 'Photos', 'Holiday 2025', 'beach-sunset.jpg'), 3 * 1024 * 1024 + 17)
    await writeFile(join(share, 'docs', 'empty-notes.txt'), '')
    await writeRandomFile(join(share, 'big.bin'), 100 * 1024 * 1024)
    master = await startMaster(dir.path)
    sharer = await startPeer(master, { share })
    client = await startPeer(master)
    await waitFor(() => sharer.registered(), 10_000, 'registration')
  })

  after(async () => {
    await client?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('finds files by word prefixes of the name and the folder path, case-insensitively', async () => {
    const byName = await client.search('BEACH sun')
    assert.equal(byName.length, 1)
    assert.equal(byName[0].name, 'beach-sunset.jpg')
    assert.equal(byName[0].path, 'Photos/Holiday 2025/beach-sunset.jpg')
    assert.equal(byName[0].size, 3 * 1024 * 1024 + 17)
    assert.equal(byName[0].providers, 1)
    const byFolder = await client.search('holi')
    assert.deepEqual(byFolder.map(r => r.name), ['beach-sunset.jpg'])
    assert.deepEqual(await client.search('nothing-like-this'), [])
  })

  it('downloads a file in a nested folder by name, verified and byte-identical', async () => {
    const out = join(dir.path, 'out-nested')
    const events: any[] = []
    const result = await client.get('beach-sunset.jpg', { out, onEvent: e => events.push(e) })
    assert.equal(result.path, join(out, 'beach-sunset.jpg'))
    assert.equal(result.bytes, 3 * 1024 * 1024 + 17)
    assert.ok(await sameFile(result.path, join(share, 'Photos', 'Holiday 2025', 'beach-sunset.jpg')))
    const progress = events.filter(e => e.event === 'progress')
    assert.equal(progress.at(-1).bytes, result.bytes)
    assert.deepEqual(await readdir(out), ['beach-sunset.jpg'], 'no part file is left behind')
  })

  it('downloads an empty file', async () => {
    const out = join(dir.path, 'out-empty')
    const result = await client.get('empty-notes.txt', { out })
    assert.equal(result.bytes, 0)
    assert.equal((await stat(result.path)).size, 0)
  })

  it('downloads a 100 MiB file by id, byte-identical', async () => {
    const [hit] = await client.search('big')
    const out = join(dir.path, 'out-big')
    const result = await client.get(hit.id, { out })
    assert.equal(result.id, hit.id)
    assert.equal(result.path, join(out, 'big.bin'))
    assert.ok(await sameFile(result.path, join(share, 'big.bin')))
  })

  it('fetches straight from a known peer by name, without the master', async () => {
    const loner = await startPeer(null)
    try {
      const out = join(dir.path, 'out-direct')
      const result = await loner.get('Photos/Holiday 2025/beach-sunset.jpg', { out, from: sharer.addrs()[0] })
      assert.ok(await sameFile(result.path, join(share, 'Photos', 'Holiday 2025', 'beach-sunset.jpg')))
    } finally {
      await loner.stop()
    }
  })

  it('fails with NOT_FOUND for an unknown name and id', async () => {
    await assert.rejects(client.get('no-such-file.txt', { out: join(dir.path, 'x') }), { code: 'NOT_FOUND' })
    await assert.rejects(client.get('fs' + 'a'.repeat(52), { out: join(dir.path, 'x') }), { code: 'NO_PROVIDER' })
  })
})
