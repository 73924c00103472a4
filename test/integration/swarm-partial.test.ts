/**
 * Swarming (issue 11) with real libp2p nodes on 127.0.0.1: downloaders serve the chunks
 * they verified to each other while they download (partial providers). A seeder capped
 * with `maxUploadRate` is slow enough for the downloaders to overlap without netns.
 * - a downloader serves verified chunks to another downloader before it is done, and
 *   registers as a partial provider (lookup and search tell it from a seeder);
 * - a partial provider is asked only for chunks it has (its bitfield and HAVE frames);
 * - a lying partial provider is dropped and the file is still verified;
 * - with upload off a get uploads nothing and is never listed;
 * - a downloader stopped mid-way is dropped by the others without loss;
 * - a resumed partial copy serves the chunks it kept;
 * - a malformed or oversized bitfield and bad HAVE frames end the session (PROTOCOL).
 * Every test compares bytes.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import fc from 'fast-check'
import { tempDir, startMaster, startPeer, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import { hashFile, limits, formatContentId, type Master, type Peer, type DownloadEvent, type DownloadResult } from '../../src/index.js'
import { FetchSession, unpackBitfield } from '../../src/protocols/fetch/client.js'
import { packBitfield } from '../../src/protocols/fetch/server.js'
import { FetchRequest, FetchResponse } from '../../src/protocols/fetch/pb/fetch.js'
import { encodeFrame } from '../../src/protocols/frames.js'
import { MAX_HAVES_PER_FRAME } from '../../src/protocols/fetch/constants.js'
import type { Manifest } from '../../src/content/content-id.js'

const MiB = 1024 * 1024

function dropsOf (events: DownloadEvent[]): Array<{ peer: string, reason: string }> {
  return events.flatMap(e => e.event === 'provider-dropped' ? [{ peer: e.peer, reason: e.reason }] : [])
}

function bytesFrom (result: DownloadResult, peer: Peer): number {
  return result.providers.find(p => p.peer === peer.peerId)?.bytes ?? 0
}

describe('bitfields', () => {
  it('pack and unpack are inverse; a wrong size or spare bits set is refused', () => {
    fc.assert(fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), bits => {
      const have = Uint8Array.from(bits, b => b ? 1 : 0)
      const packed = packBitfield(have, have.length)
      assert.equal(packed.length, Math.ceil(have.length / 8))
      assert.deepEqual(unpackBitfield(packed, have.length), have)
      assert.throws(() => unpackBitfield(packed.subarray(0, packed.length - 1), have.length), { code: 'PROTOCOL' })
      assert.throws(() => unpackBitfield(Uint8Array.from([...packed, 0]), have.length), { code: 'PROTOCOL' })
      if (have.length % 8 !== 0) {
        const spare = packed.slice()
        spare[spare.length - 1] |= 1
        assert.throws(() => unpackBitfield(spare, have.length), { code: 'PROTOCOL' })
      }
    }))
  })
})

describe('swarming: partial providers (in-process nodes on 127.0.0.1)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  const peers: Peer[] = []

  async function peer (options: Parameters<typeof startPeer>[1] = {}): Promise<Peer> {
    const p = await startPeer(master, options)
    peers.push(p)
    return p
  }

  /** A random file shared by a seeder that uploads at most `rate` bytes/s. */
  async function seeded (name: string, size: number, rate: number): Promise<{ src: string, id: Uint8Array, idText: string, manifest: Manifest, seeder: Peer }> {
    const src = join(dir.path, name)
    await writeRandomFile(src, size)
    const { id, manifest } = await hashFile(src)
    const share = join(dir.path, `share-${name}`)
    await mkdir(share, { recursive: true })
    await copyFile(src, join(share, name))
    const seeder = await peer({ share, maxUploadRate: rate })
    await waitFor(() => seeder.registered(), 10_000, 'registration')
    return { src, id, idText: formatContentId(id), manifest, seeder }
  }

  /** A sharing peer (so it serves and registers) that publishes `path` as a partial copy holding `have`. */
  async function partialCopy (name: string, path: string, id: Uint8Array, manifest: Manifest, have: Uint8Array): Promise<Peer> {
    const share = join(dir.path, `empty-${peers.length}`)
    await mkdir(share, { recursive: true })
    const p = await peer({ share })
    await waitFor(() => p.registered(), 10_000, 'registration')
    assert.ok(p.catalog.addPartial(name, path, id, manifest, have))
    await p.flushRegistration()
    return p
  }

  before(async () => {
    dir = await tempDir('fileshare-swarm-partial-')
    master = await startMaster(dir.path)
  })

  after(async () => {
    for (const p of peers) await p.stop().catch(() => {})
    await master?.stop()
    await dir?.cleanup()
  })

  it('a downloader serves verified chunks to another downloader before it is done', async () => {
    const { src, id, idText, seeder } = await seeded('crowd.bin', 16 * MiB, 2 * MiB)
    const a = await peer()
    const b = await peer()
    let bStarted: Promise<DownloadResult> | undefined
    let aDone = false
    let fromAWhileRunning = 0
    const eventsA: DownloadEvent[] = []
    const eventsB: DownloadEvent[] = []
    let sawPartial = false
    const resultA = await a.get(idText, {
      out: join(dir.path, 'out-crowd-a'),
      providerRefreshMs: 200,
      onEvent: e => eventsA.push(e),
      onChunk: () => {
        if (bStarted != null || a.catalog.get(id) == null) return
        bStarted = (async () => {
          // A registered as a partial provider: the lookup and the search say so
          await waitFor(async () => {
            const found = await b.master!.providers(id)
            sawPartial = found.providers.some(p => p.peer.toString() === a.peerId && p.partial === true) &&
              found.providers.some(p => p.peer.toString() === seeder.peerId && p.partial !== true)
            return sawPartial
          }, 10_000, 'A listed as a partial provider')
          const hit = (await b.search('crowd'))[0]
          assert.equal(hit.providers, 2)
          assert.equal(hit.seeders, 1)
          return await b.get(idText, {
            out: join(dir.path, 'out-crowd-b'),
            providerRefreshMs: 200,
            onEvent: e => eventsB.push(e),
            onChunk: (_index, from) => { if (from === a.peerId && !aDone) fromAWhileRunning++ }
          })
        })()
      }
    })
    aDone = true
    const resultB = await bStarted!
    assert.ok(sawPartial, 'the lookup marks A partial and the seeder complete')
    assert.ok(await sameFile(resultA.path, src))
    assert.ok(await sameFile(resultB.path, src))
    assert.ok(fromAWhileRunning > 0, 'B verified chunks from A while A was still downloading')
    assert.ok(resultB.partialBytes >= bytesFrom(resultB, a) && bytesFrom(resultB, a) > 0)
    assert.equal(resultB.providers.find(p => p.peer === a.peerId)?.partial, true)
    assert.ok((resultA.uploadedBytes ?? 0) > 0, 'A reports what it uploaded')
    const progress = eventsA.filter(e => e.event === 'progress')
    assert.ok(progress.some(e => e.event === 'progress' && (e.uploadedBytes ?? 0) > 0), 'progress events count uploaded bytes')
    assert.deepEqual(dropsOf(eventsB).filter(d => /not held/.test(d.reason)), [], 'A was never asked for a chunk it lacked')
    // after done (no --seed) A serves nothing any more
    assert.equal(a.catalog.get(id), undefined)
  })

  it('a downloader is a partial provider from its start: listed before it holds a chunk, its bitfield empty', async () => {
    const { src, id, idText } = await seeded('early.bin', 8 * MiB, 1 * MiB)
    const a = await peer()
    let atStart: Uint8Array | null | undefined
    let listed: Promise<boolean> | undefined
    const result = await a.get(idText, {
      out: join(dir.path, 'out-early'),
      onEvent: e => {
        if (e.event !== 'progress' || atStart !== undefined) return
        // the first progress event comes before any chunk is asked for
        atStart = a.catalog.get(id)?.have?.slice() ?? null
        listed = waitFor(async () => (await a.master!.providers(id)).providers.some(p => p.peer.toString() === a.peerId && p.partial === true), 10_000, 'A listed as partial').then(() => true)
      }
    })
    assert.ok(atStart != null, 'served as a partial copy from the first progress event on')
    assert.deepEqual([...atStart], new Array(8).fill(0), 'holding no chunk yet')
    assert.equal(await listed, true)
    assert.ok(await sameFile(result.path, src))
  })

  it('a partial provider is asked only for chunks it has', async () => {
    const { src, id, idText, manifest, seeder } = await seeded('half.bin', 8 * MiB, 2 * MiB)
    // a partial copy holding the even chunks only (the file behind it is complete: only the bitfield restrains it)
    const have = Uint8Array.from({ length: 8 }, (_, i) => i % 2 === 0 ? 1 : 0)
    const half = await partialCopy('half.bin', src, id, manifest, have)
    const fromHalf: number[] = []
    const events: DownloadEvent[] = []
    const client = await peer()
    const result = await client.get(idText, {
      out: join(dir.path, 'out-half'),
      onEvent: e => events.push(e),
      onChunk: (index, from) => { if (from === half.peerId) fromHalf.push(index) }
    })
    assert.ok(await sameFile(result.path, src))
    assert.ok(fromHalf.length > 0, 'the partial provider served chunks')
    assert.ok(fromHalf.every(i => i % 2 === 0), `only chunks it has: ${fromHalf.join(',')}`)
    assert.deepEqual(dropsOf(events), [], 'nobody was dropped')
    assert.equal(bytesFrom(result, seeder) + bytesFrom(result, half), result.bytes)

    // it gains chunk 1 (a HAVE frame): a new download may ask it for chunk 1 too
    half.catalog.gained(id, 1)
    const session = new FetchSession(await client.node.dialProtocol(multiaddr(half.addrs()[0]), limits.PROTOCOL_FETCH))
    const gained: number[] = []
    const bits = await session.have(id, 8, i => gained.push(i))
    assert.deepEqual([...bits!], [1, 1, 1, 0, 1, 0, 1, 0])
    half.catalog.gained(id, 3)
    await waitFor(() => gained.includes(3), 5_000, 'HAVE frame')
    await session.close()
  })

  it('a lying partial provider is dropped and the file is still verified', async () => {
    const { src, id, idText, manifest, seeder } = await seeded('lie.bin', 8 * MiB, 2 * MiB)
    const corrupt = join(dir.path, 'lie-corrupt.bin')
    await writeRandomFile(corrupt, 8 * MiB)
    const liar = await partialCopy('lie.bin', corrupt, id, manifest, Uint8Array.from({ length: 8 }, (_, i) => i < 6 ? 1 : 0))
    const events: DownloadEvent[] = []
    const client = await peer()
    const result = await client.get(idText, { out: join(dir.path, 'out-lie'), onEvent: e => events.push(e) })
    assert.ok(await sameFile(result.path, src))
    assert.ok(dropsOf(events).some(d => d.peer === liar.peerId && /verification/.test(d.reason)), JSON.stringify(dropsOf(events)))
    assert.equal(bytesFrom(result, liar), 0)
    assert.equal(bytesFrom(result, seeder), result.bytes)
  })

  it('with upload off a get uploads nothing and is never listed as a provider', async () => {
    const { src, id, idText, seeder } = await seeded('quiet.bin', 8 * MiB, 2 * MiB)
    const a = await peer({ upload: false })
    const b = await peer()
    let listed = false
    let bRun: Promise<DownloadResult> | undefined
    const resultA = await a.get(idText, {
      out: join(dir.path, 'out-quiet-a'),
      onChunk: () => {
        bRun ??= b.get(idText, { out: join(dir.path, 'out-quiet-b'), providerRefreshMs: 200 })
        void b.master!.providers(id).then(found => { if (found.providers.some(p => p.peer.toString() === a.peerId)) listed = true }, () => {})
      }
    })
    const resultB = await bRun!
    assert.ok(await sameFile(resultA.path, src))
    assert.ok(await sameFile(resultB.path, src))
    assert.equal((a.node.services.fetch as { bytesServed: number }).bytesServed, 0)
    assert.equal(resultA.uploadedBytes, 0)
    assert.equal(bytesFrom(resultB, a), 0)
    assert.equal(bytesFrom(resultB, seeder), resultB.bytes)
    assert.equal(listed, false, 'never listed by the master')
    assert.equal(a.catalog.size, 0)
  })

  it('a downloader stopped mid-way is dropped by the others without loss', async () => {
    // 1 MiB/s: A is surely mid-way when B's first chunk from it stops it, even when B is slow
    // to start on a loaded machine (at 2 MiB/s A was once done first)
    const { src, idText } = await seeded('gone.bin', 16 * MiB, 1 * MiB)
    const a = await peer()
    const b = await peer()
    let stopping: Promise<void> | undefined
    const eventsB: DownloadEvent[] = []
    let bRun: Promise<DownloadResult> | undefined
    const aRun = a.get(idText, {
      out: join(dir.path, 'out-gone-a'),
      providerRefreshMs: 200,
      onChunk: () => {
        bRun ??= b.get(idText, {
          out: join(dir.path, 'out-gone-b'),
          providerRefreshMs: 200,
          onEvent: e => eventsB.push(e),
          // A goes away once B got a chunk from it
          onChunk: (_index, from) => { if (from === a.peerId) stopping ??= a.stop() }
        })
      }
    }).then(() => null, err => err)
    await waitFor(() => bRun != null, 30_000, 'A\'s first chunk')
    const resultB = await bRun!
    await stopping
    assert.ok(stopping != null, 'B got a chunk from A')
    assert.ok(await sameFile(resultB.path, src))
    assert.ok(bytesFrom(resultB, a) > 0)
    // A is dropped (reported) when the re-dial fails, unless B is done first
    assert.ok((await aRun) instanceof Error, 'A\'s own download ended with its node')
  })

  it('a resumed partial copy serves the chunks it kept', async () => {
    const { src, idText, seeder } = await seeded('kept.bin', 16 * MiB, 2 * MiB)
    const a = await peer()
    const out = join(dir.path, 'out-kept-a')
    const controller = new AbortController()
    let n = 0
    await assert.rejects(a.get(idText, { out, signal: controller.signal, onChunk: () => { if (++n === 5) controller.abort() } }), { code: 'ABORTED' })
    const b = await peer()
    let bRun: Promise<DownloadResult> | undefined
    let resumed = 0
    const resultA = await a.get(idText, {
      out,
      providerRefreshMs: 200,
      onEvent: e => {
        if (e.event !== 'resumed') return
        resumed = e.chunks
        bRun = b.get(idText, { out: join(dir.path, 'out-kept-b'), providerRefreshMs: 200 })
      }
    })
    const resultB = await bRun!
    assert.ok(resumed >= 5)
    assert.ok(resultA.resumedBytes >= 5 * MiB)
    assert.ok(await sameFile(resultA.path, src))
    assert.ok(await sameFile(resultB.path, src))
    assert.ok(bytesFrom(resultB, a) > 0, 'B got chunks from the resumed copy')
    assert.equal(bytesFrom(resultB, a) + bytesFrom(resultB, seeder), resultB.bytes)
  })

  it('a malformed or oversized bitfield, or a bad HAVE frame, ends the session with PROTOCOL', async () => {
    const { id } = await seeded('hostile.bin', 3 * MiB, 0)
    const total = 20 // the downloader expects 3 bytes of bitfield
    const cases: Array<{ what: string, answer: Uint8Array[] }> = [
      { what: 'short', answer: [frame({ length: 2 }), new Uint8Array(2)] },
      { what: 'oversized', answer: [frame({ length: 4096 }), new Uint8Array(4096)] },
      { what: 'spare bits', answer: [frame({ length: 3 }), Uint8Array.from([0, 0, 0x0f])] },
      { what: 'HAVE past the end', answer: [frame({ length: 3 }), new Uint8Array(3), frame({ status: FetchResponse.Status.HAVE, have: [total] })] },
      { what: 'HAVE with too many indexes', answer: [frame({ length: 3 }), new Uint8Array(3), frame({ status: FetchResponse.Status.HAVE, have: Array.from({ length: MAX_HAVES_PER_FRAME + 1 }, () => 1) })] }
    ]
    const hostile = await peer()
    let current: Uint8Array[] = []
    await hostile.node.handle(limits.PROTOCOL_FETCH, async (stream) => {
      const lp = lpStream(stream)
      FetchRequest.decode(await lp.read())
      const raw = lp.unwrap()
      for (const part of current) raw.send(part)
    })
    const client = await peer()
    for (const c of cases) {
      current = c.answer
      const session = new FetchSession(await client.node.dialProtocol(multiaddr(hostile.addrs()[0]), limits.PROTOCOL_FETCH))
      const asked = session.have(id, total, () => {})
      if (c.what.startsWith('HAVE')) {
        await asked // the bitfield is fine; the frame after it is not
        await waitFor(() => session.closed, 5_000, `${c.what}: session closed`)
      } else {
        await assert.rejects(asked, (err: any) => err?.code === 'PROTOCOL' || /bitfield|bytes/.test(err?.message), c.what)
      }
      await session.close()
    }
  })
})

function frame (fields: Partial<FetchResponse>): Uint8Array {
  return encodeFrame(FetchResponse.encode({ status: FetchResponse.Status.OK, message: '', index: 0, length: 0, have: [], ...fields }))
}
