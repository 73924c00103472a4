/**
 * Fair upload (issue 11, src/protocols/fetch/choker.ts) with real libp2p nodes on 127.0.0.1:
 * a sharer with 2 upload slots and a slow upload (maxUploadRate) whose slots two
 * downloaders hold. A peer that uploaded to the sharer (the sharer's own get verified
 * chunks from it: credit) is served at once, taking the slot of a holder that gave nothing
 * (choked: BUSY, it asks again later); a newcomer with no credit is refused at first and
 * still gets started by the optimistic slot, which rotates every `optimisticSlotMs`.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import { hashFile, formatContentId, type Master, type Peer, type DownloadResult } from '../../src/index.js'

const MiB = 1024 * 1024
const OPTIMISTIC_MS = 2_000

describe('fair upload: tit-for-tat on full upload slots (in-process nodes on 127.0.0.1)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  const peers: Peer[] = []
  const abort = new AbortController()
  const running: Array<Promise<DownloadResult | undefined>> = []

  async function peer (options: Parameters<typeof startPeer>[1] = {}): Promise<Peer> {
    const p = await startPeer(master, options)
    peers.push(p)
    return p
  }

  async function share (name: string, size: number, options: Parameters<typeof startPeer>[1] = {}): Promise<{ peer: Peer, src: string, idText: string }> {
    const src = join(dir.path, name)
    await writeRandomFile(src, size)
    const { id } = await hashFile(src)
    const folder = join(dir.path, `share-${name}`)
    await mkdir(folder, { recursive: true })
    await copyFile(src, join(folder, name))
    const p = await peer({ share: folder, ...options })
    await waitFor(() => p.registered(), 10_000, 'registration')
    await waitFor(async () => (await p.master!.providers(id)).providers.length > 0, 10_000, `${name} listed`)
    return { peer: p, src, idText: formatContentId(id) }
  }

  before(async () => {
    dir = await tempDir('fileshare-fair-upload-')
    master = await startMaster(dir.path)
  })

  after(async () => {
    abort.abort()
    await Promise.all(running)
    for (const p of peers) await p.stop().catch(() => {})
    await master?.stop()
    await dir?.cleanup()
  })

  it('a peer that uploads to the sharer is served ahead of one that does not; a newcomer gets the optimistic slot', async () => {
    // the sharer: 2 slots, one per peer, 2 MiB/s in all (a 40 MiB file outlasts the test)
    const { peer: sharer, idText } = await share('big.bin', 40 * MiB, { maxUploads: 2, maxUploadsPerPeer: 1, maxUploadRate: 2 * MiB, optimisticSlotMs: OPTIMISTIC_MS })
    const fetch = sharer.node.services.fetch
    // the giver shares a file the sharer downloads: the sharer verifies chunks from it (credit)
    const { peer: giver, src: giftSrc, idText: giftId } = await share('gift.bin', 3 * MiB)
    const gift = await sharer.get(giftId, { out: join(dir.path, 'out-gift'), upload: false })
    assert.ok(await sameFile(gift.path, giftSrc))
    assert.ok(fetch.creditOf(giver.peerId) > 2 * MiB, `credit ${fetch.creditOf(giver.peerId)}`)

    const firstChunk = new Map<string, number>()
    const get = (p: Peer, name: string): void => {
      running.push(p.get(idText, {
        out: join(dir.path, `out-${name}`),
        upload: false,
        signal: abort.signal,
        onChunk: (_index, from) => { if (from === sharer.peerId && !firstChunk.has(p.peerId)) firstChunk.set(p.peerId, Date.now()) }
      }).catch(() => undefined))
    }
    const holders = (): string[] => fetch.slots.holders().map(s => s.peer)

    // two downloaders that give nothing take both slots
    const n1 = await peer()
    const n2 = await peer()
    get(n1, 'n1')
    get(n2, 'n2')
    await waitFor(() => firstChunk.has(n1.peerId) && firstChunk.has(n2.peerId) && fetch.slots.active === 2, 20_000, 'both slots taken')

    // the giver and a newcomer with no credit ask at the same time
    const newcomer = await peer()
    const t0 = Date.now()
    get(giver, 'giver')
    get(newcomer, 'newcomer')
    await waitFor(() => firstChunk.has(giver.peerId), 20_000, 'the giver served')
    const giverAfter = firstChunk.get(giver.peerId)! - t0
    assert.ok(holders().includes(giver.peerId), `holders: ${holders().join(', ')}`)
    assert.ok(!firstChunk.has(newcomer.peerId), 'the newcomer was not served before the giver')
    assert.ok(giverAfter < 10_000, `the giver waited ${giverAfter} ms`)
    assert.equal(fetch.slots.active, 2, 'never more than 2 slots')

    // the newcomer (BUSY at first) gets the optimistic slot once it rotates
    await waitFor(() => firstChunk.has(newcomer.peerId), 30_000, 'the newcomer served')
    const newcomerAfter = firstChunk.get(newcomer.peerId)! - t0
    assert.ok(newcomerAfter > giverAfter, `giver ${giverAfter} ms, newcomer ${newcomerAfter} ms`)
    assert.ok(fetch.slots.active <= 2)
    // the giver keeps its slot: nobody with less credit takes it
    assert.ok(holders().includes(giver.peerId), `holders: ${holders().join(', ')}`)
  })
})
