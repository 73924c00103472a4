/**
 * `peer.list()` (and `peer.js ls`) over the fetch protocol's LIST: pages follow paths, not
 * positions, so a share that changes between pages makes the listing neither skip nor
 * repeat a file that was there all along. Real nodes on 127.0.0.1.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startPeer, waitFor } from '../helpers/swarm.js'
import type { Peer } from '../../src/index.js'

const path = (i: number): string => `f${String(i).padStart(3, '0')}.txt`

describe('listing a peer whose share changes between pages', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>
  let sharer: Peer
  let client: Peer

  before(async () => {
    dir = await tempDir()
    const share = join(dir.path, 'share')
    await mkdir(share)
    for (let i = 0; i < 150; i++) await writeFile(join(share, path(i)), `file ${i}`)
    sharer = await startPeer(null, { share })
    await waitFor(() => sharer.catalog.size === 150, 20_000, 'the share hashed')
    client = await startPeer(null)
  })

  after(async () => {
    await client?.stop()
    await sharer?.stop()
    await dir?.cleanup()
  })

  it('files removed before the next page shift nothing: every file listed once, in path order', async () => {
    // after the first page is answered, the share loses its first 10 files
    const list = sharer.catalog.list.bind(sharer.catalog)
    let pages = 0
    sharer.catalog.list = (offset, limit, after) => {
      const page = list(offset, limit, after)
      if (++pages === 1) for (let i = 0; i < 10; i++) sharer.catalog.remove(path(i))
      return page
    }
    const addr = sharer.addrs().find(a => a.includes('127.0.0.1'))!
    const listing = await client.list(addr)
    assert.equal(pages, 2)
    // by position the second page would have started 10 files late
    assert.deepEqual(listing.files.map(f => f.path), Array.from({ length: 150 }, (_, i) => path(i)))
    assert.equal(listing.total, 140)
  })
})
