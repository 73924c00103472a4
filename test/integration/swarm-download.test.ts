/**
 * Swarm downloads with real libp2p nodes on 127.0.0.1 (issue 4): several providers at
 * once, a provider killed mid-download, lying providers, BUSY providers, a provider that
 * appears mid-download, resume after an interrupted run with damaged state, 20 concurrent
 * downloaders from one seeder, downloads into a shared folder. Every test compares bytes.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, copyFile, readdir, writeFile, open, readFile } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { tempDir, startMaster, startPeer, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import { download, hashFile, limits, formatContentId, type Master, type Peer, type DownloadEvent, type ProviderRef } from '../../src/index.js'
import { FetchRequest } from '../../src/protocols/fetch/pb/fetch.js'
import { FetchSession } from '../../src/protocols/fetch/client.js'
import { swarmShare } from '../../src/peer/download/swarm-share.js'
import { encodeFrame } from '../../src/protocols/frames.js'

const MiB = 1024 * 1024

function refOf (peer: Peer): ProviderRef {
  return { peer: peer.node.peerId, addrs: [multiaddr(peer.addrs()[0])] }
}

function dropsOf (events: DownloadEvent[]): Array<{ peer: string, reason: string }> {
  return events.flatMap(e => e.event === 'provider-dropped' ? [{ peer: e.peer, reason: e.reason }] : [])
}

describe('swarm download (in-process nodes on 127.0.0.1)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let client: Peer
  const peers: Peer[] = []

  async function sharer (files: Record<string, string>, options: Parameters<typeof startPeer>[1] = {}): Promise<Peer> {
    const share = join(dir.path, `share-${peers.length}`)
    await mkdir(share, { recursive: true })
    for (const [name, from] of Object.entries(files)) await copyFile(from, join(share, name))
    const peer = await startPeer(master, { share, ...options })
    peers.push(peer)
    await waitFor(() => peer.registered(), 10_000, 'registration')
    return peer
  }

  /** A random file of `size` bytes shared by a new peer that uploads at most `rate` bytes/s. */
  async function sharedRandomFile (name: string, size: number, rate: number): Promise<{ src: string, idText: string }> {
    const src = join(dir.path, name)
    await writeRandomFile(src, size)
    const idText = formatContentId((await hashFile(src)).id)
    await sharer({ [name]: src }, { maxUploadRate: rate })
    return { src, idText }
  }

  before(async () => {
    dir = await tempDir('fileshare-swarm-')
    master = await startMaster(dir.path)
    client = await startPeer(master)
  })

  after(async () => {
    for (const p of peers) await p.stop().catch(() => {})
    await client?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('uses three providers at once and survives one that is killed mid-download', async () => {
    const src = join(dir.path, 'three.bin')
    await writeRandomFile(src, 24 * MiB + 123)
    const { id } = await hashFile(src)
    const idText = formatContentId(id)
    const three = [
      await sharer({ 'three.bin': src }, { maxUploadRate: 16 * MiB }),
      await sharer({ 'three.bin': src }, { maxUploadRate: 16 * MiB }),
      await sharer({ 'three.bin': src }, { maxUploadRate: 16 * MiB })
    ]
    const events: DownloadEvent[] = []
    let victim: Peer | undefined
    let stopping: Promise<void> | undefined
    const out = join(dir.path, 'out-three')
    const result = await client.get(idText, {
      out,
      onEvent: e => events.push(e),
      onChunk: (_index, peer) => {
        // kill the first provider that delivered a chunk, while it has more in flight
        if (victim != null) return
        victim = three.find(p => p.peerId === peer)
        stopping = victim?.stop()
      }
    })
    await stopping
    assert.ok(victim != null)
    assert.ok(await sameFile(result.path, src))
    assert.deepEqual((await readdir(out)).sort(), ['three.bin'], 'no part or state file left')
    assert.ok(dropsOf(events).some(d => d.peer === victim!.peerId), 'the killed provider is reported as dropped')
    assert.equal(result.providers.reduce((n, p) => n + p.bytes, 0), result.bytes)
    assert.ok(result.providers.filter(p => p.bytes > 0).length >= 2, 'more than one provider served chunks')
  })

  it('drops a provider that serves corrupted chunks and fetches them elsewhere', async () => {
    const src = join(dir.path, 'lied.bin')
    await writeRandomFile(src, 16 * MiB + 5)
    const { id, manifest } = await hashFile(src)
    // the honest provider is slow, so the liar surely gets chunk requests
    const honest = await sharer({ 'lied.bin': src }, { maxUploadRate: 16 * MiB })
    // the liar serves the right manifest with other bytes (a real node: its catalog maps the id to a different file)
    const corrupt = join(dir.path, 'corrupt.bin')
    await writeRandomFile(corrupt, 16 * MiB + 5)
    const liar = await startPeer(master)
    peers.push(liar)
    await liar.seed({ id: formatContentId(id), path: corrupt, manifest })

    const events: DownloadEvent[] = []
    const out = join(dir.path, 'out-lied')
    const result = await download({ node: client.node, id, outDir: out, providers: [refOf(liar), refOf(honest)], onEvent: e => events.push(e) })
    assert.ok(await sameFile(result.path, src))
    const drops = dropsOf(events)
    assert.ok(drops.some(d => d.peer === liar.peerId && /verification/.test(d.reason)), JSON.stringify(drops))
    assert.equal(result.providers.find(p => p.peer === liar.peerId)?.bytes ?? 0, 0, 'no byte of the liar counts')

    // with only the liar: VERIFICATION_FAILED and nothing under the final name
    const out2 = join(dir.path, 'out-lied-only')
    await assert.rejects(download({ node: client.node, id, outDir: out2, providers: [refOf(liar)] }), { code: 'VERIFICATION_FAILED' })
    assert.deepEqual(await readdir(out2), [], 'no file is left (nothing verified to keep)')
  })

  it('endgame: chunks held by a very slow provider are fetched again elsewhere, first verified copy wins', async () => {
    const src = join(dir.path, 'tail.bin')
    await writeRandomFile(src, 8 * MiB)
    const { id } = await hashFile(src)
    // the slow provider sends one chunk every 2 s: without endgame it would deliver every chunk it was given
    const slow = await sharer({ 'tail.bin': src }, { maxUploadRate: MiB / 2 })
    const fast = await sharer({ 'tail.bin': src })
    const out = join(dir.path, 'out-tail')
    const result = await download({ node: client.node, id, outDir: out, providers: [refOf(slow), refOf(fast)] })
    assert.ok(await sameFile(result.path, src))
    const slowBytes = result.providers.find(p => p.peer === slow.peerId)?.bytes ?? 0
    assert.ok(slowBytes <= MiB, `the slow provider delivered at most its first chunk (${slowBytes})`)
    assert.equal(result.providers.find(p => p.peer === fast.peerId)?.bytes, result.bytes - slowBytes)
    assert.deepEqual(await readdir(out), ['tail.bin'])
  })

  it('in a swarm, a provider is kept one chunk request less busy than alone (at most 1 here instead of 2)', async () => {
    const src = join(dir.path, 'depth.bin')
    await writeRandomFile(src, 8 * MiB)
    const { id } = await hashFile(src)
    // 1 MiB/s: once measured, the rate estimator's depth is 2 (0.5 s of chunks, plus one for the round trip)
    const seeder = await sharer({ 'depth.bin': src }, { maxUploadRate: MiB })
    // the most chunk requests in flight on one session, counted from the 4th verified chunk on
    // (the rate, and so the depth, is measured over the last 2 s)
    let verified = 0
    let most = 0
    const request = FetchSession.prototype.request
    FetchSession.prototype.request = function (this: FetchSession, req, sink) {
      request.call(this, req, sink)
      if (verified >= 4 && req.kind === FetchRequest.Kind.CHUNK) most = Math.max(most, this.inFlight)
    }
    try {
      const fetch = async (out: string, swarmMembers?: () => string[]): Promise<number> => {
        verified = 0
        most = 0
        const result = await download({ node: client.node, id, outDir: join(dir.path, out), providers: [refOf(seeder)], swarmMembers, onChunk: () => { verified++ } })
        assert.ok(await sameFile(result.path, src))
        return most
      }
      assert.equal(await fetch('out-depth-alone'), 2, 'alone: two requests in flight')
      // another downloader of the content, as the master lists it (only the split of the seeder's work uses it)
      assert.equal(await fetch('out-depth-swarm', () => [master.peerId]), 1, 'in a swarm: one')
    } finally {
      FetchSession.prototype.request = request
    }
  })

  it('in a swarm the lookup shows, the first requests already go to this download\'s share', async () => {
    const src = join(dir.path, 'share.bin')
    await writeRandomFile(src, 4 * MiB)
    const { id } = await hashFile(src)
    const seeder = await sharer({ 'share.bin': src })
    // another downloader (only the split uses it) such that chunk 0, the first one asked for
    // without a share (random always 0: the first of the queue), is the other's
    const other = ['0', 'z'].find(o => swarmShare(client.peerId, [o], 4)[0] === 0)!
    const mine = swarmShare(client.peerId, [other], 4)
    const asked: number[] = []
    const request = FetchSession.prototype.request
    FetchSession.prototype.request = function (this: FetchSession, req, sink) {
      if (req.kind === FetchRequest.Kind.CHUNK) asked.push(req.index)
      request.call(this, req, sink)
    }
    try {
      const result = await download({ node: client.node, id, outDir: join(dir.path, 'out-share'), providers: [refOf(seeder)], swarmMembers: () => [other], random: () => 0 })
      assert.ok(await sameFile(result.path, src))
    } finally {
      FetchSession.prototype.request = request
    }
    assert.deepEqual(asked.slice(0, 2).sort(), [0, 1, 2, 3].filter(i => mine[i] === 1), 'our two chunks first')
  })

  it('a provider that stalls mid-download costs only its in-flight chunks (copied elsewhere, no wait for the stall timeout)', async () => {
    const src = join(dir.path, 'stall.bin')
    await writeRandomFile(src, 8 * MiB)
    const { id } = await hashFile(src)
    // after its first chunk this provider sends nothing more (4 bytes/s)
    const stalled = await sharer({ 'stall.bin': src }, { maxUploadRate: 4 })
    const fast = await sharer({ 'stall.bin': src }, { maxUploadRate: 32 * MiB })
    const result = await download({ node: client.node, id, outDir: join(dir.path, 'out-stall'), providers: [refOf(stalled), refOf(fast)] })
    assert.ok(await sameFile(result.path, src))
    assert.ok((result.providers.find(p => p.peer === stalled.peerId)?.bytes ?? 0) <= MiB)
  })

  it('a provider at its upload cap answers BUSY and the downloader uses another', async () => {
    const src = join(dir.path, 'busy.bin')
    await writeRandomFile(src, 3 * MiB)
    const { id } = await hashFile(src)
    const busy = await sharer({ 'busy.bin': src }, { maxUploads: 1 })
    // the free provider is slow, so the busy one is surely asked (for the manifest or a chunk)
    const free = await sharer({ 'busy.bin': src }, { maxUploadRate: 8 * MiB })
    // hold busy's only upload slot: a slot is held while data is being sent, so ask for
    // chunks and read nothing (the send stalls until the stream idle timeout, 30 s)
    const other = await startPeer(master)
    peers.push(other)
    const stream = await other.node.dialProtocol(multiaddr(busy.addrs()[0]), limits.PROTOCOL_FETCH)
    stream.pause()
    for (const index of [0, 1, 2]) stream.send(encodeFrame(FetchRequest.encode({ kind: FetchRequest.Kind.CHUNK, id, index, name: '' })))
    await waitFor(() => busy.activeUploads() === 1, 10_000, 'the holder takes the slot')

    const events: DownloadEvent[] = []
    const out = join(dir.path, 'out-busy')
    const result = await download({ node: client.node, id, outDir: out, providers: [refOf(busy), refOf(free)], onEvent: e => events.push(e) })
    stream.abort(new Error('test done'))
    assert.ok(await sameFile(result.path, src))
    assert.ok(dropsOf(events).some(d => d.peer === busy.peerId && /BUSY|upload slots/i.test(d.reason)), JSON.stringify(dropsOf(events)))
    assert.equal(result.providers.find(p => p.peer === free.peerId)?.bytes, result.bytes)
  })

  it('downloaders wait and retry when the only provider is at its upload cap', async () => {
    const src = join(dir.path, 'queue.bin')
    await writeRandomFile(src, 2 * MiB)
    const { id } = await hashFile(src)
    const idText = formatContentId(id)
    // one upload at a time, each taking a while: the others hear BUSY, back off and come back
    await sharer({ 'queue.bin': src }, { maxUploads: 1, maxUploadRate: 4 * MiB })
    const downloaders = await Promise.all(Array.from({ length: 3 }, async () => await startPeer(master)))
    peers.push(...downloaders)
    const events: DownloadEvent[] = []
    const results = await Promise.all(downloaders.map(async (d, i) => await d.get(idText, { out: join(dir.path, `out-queue-${i}`), onEvent: e => events.push(e) })))
    for (const r of results) assert.ok(await sameFile(r.path, src))
    assert.ok(dropsOf(events).some(d => /BUSY/.test(d.reason)), 'some downloader was told BUSY')
  })

  it('picks up a provider that appears during the download', async () => {
    const src = join(dir.path, 'late.bin')
    await writeRandomFile(src, 16 * MiB)
    const { id } = await hashFile(src)
    const idText = formatContentId(id)
    // alone, the first provider would need 16 s: ample time for the newcomer to register and
    // join even on a loaded machine (the download ends soon after it joins)
    await sharer({ 'late.bin': src }, { maxUploadRate: 1 * MiB })
    let late: Promise<Peer> | undefined
    const out = join(dir.path, 'out-late')
    const result = await client.get(idText, {
      out,
      providerRefreshMs: 200,
      onChunk: () => { late ??= sharer({ 'late.bin': src }) }
    })
    const newcomer = await late!
    assert.ok(await sameFile(result.path, src))
    const served = result.providers.find(p => p.peer === newcomer.peerId)
    assert.ok(served != null && served.bytes > 0, `the late provider served chunks: ${JSON.stringify(result.providers)}`)
  })

  it('resumes an interrupted download: keeps verified chunks, re-hashes them, ignores damaged state', async () => {
    const src = join(dir.path, 'resume.bin')
    await writeRandomFile(src, 16 * MiB + 7)
    const { id } = await hashFile(src)
    const idText = formatContentId(id)
    await sharer({ 'resume.bin': src }, { maxUploadRate: 16 * MiB })
    const out = join(dir.path, 'out-resume')
    const controller = new AbortController()
    let chunks = 0
    await assert.rejects(client.get(idText, {
      out,
      signal: controller.signal,
      onChunk: () => { if (++chunks === 6) controller.abort() }
    }), { code: 'ABORTED' })
    const left = (await readdir(out)).sort()
    assert.equal(left.length, 2, `part file and its state stay: ${left.join(', ')}`)
    assert.ok(left.every(n => n.startsWith('.resume.bin.') && n.endsWith('.part')))

    // damage both: the state becomes garbage, chunk 0 of the part file gets other bytes
    const statePath = join(out, left.find(n => n.endsWith('.state.part'))!)
    await writeFile(statePath, '{"version":1,"garbage":')
    const fh = await open(join(out, left.find(n => !n.endsWith('.state.part'))!), 'r+')
    await fh.write(Buffer.alloc(4096, 0xab), 0, 4096, 0)
    await fh.close()

    const events: DownloadEvent[] = []
    const fetched: number[] = []
    const result = await client.get(idText, { out, onEvent: e => events.push(e), onChunk: index => fetched.push(index) })
    assert.ok(await sameFile(result.path, src))
    const first = events.find(e => e.event === 'progress')
    assert.ok(first != null && first.event === 'progress')
    assert.ok(first.bytes > 0 && first.bytes < result.bytes, `first progress counts the kept bytes: ${first.bytes}`)
    assert.equal(first.bytes, result.resumedBytes)
    // fetched again, not kept (a bound on resumedBytes from the count of onChunk calls before
    // the abort did not hold: chunks already handed to the writer thread land in the part
    // file after the abort, verify on the re-hash and are rightly kept)
    assert.ok(fetched.includes(0), `the damaged chunk 0 was fetched again: ${fetched.join()}`)
    assert.ok(events.some(e => e.event === 'resumed'))
    assert.deepEqual(await readdir(out), ['resume.bin'], 'part and state files are gone after success')
  })

  it('an abort while the part file is checked again leaves part and state as they were', async () => {
    const { src, idText } = await sharedRandomFile('recheck.bin', 12 * MiB, 16 * MiB)
    const out = join(dir.path, 'out-recheck')
    const controller = new AbortController()
    let chunks = 0
    await assert.rejects(client.get(idText, { out, signal: controller.signal, onChunk: () => { if (++chunks === 4) controller.abort() } }), { code: 'ABORTED' })
    const before = new Map(await Promise.all((await readdir(out)).map(async n => [n, await readFile(join(out, n))] as const)))
    assert.equal(before.size, 2)

    // Ctrl-C as the check of the 4 kept chunks starts
    const stop = new AbortController()
    const events: DownloadEvent[] = []
    await assert.rejects(client.get(idText, {
      out,
      signal: stop.signal,
      onEvent: e => { events.push(e); if (e.event === 'checking') stop.abort() }
    }), { code: 'ABORTED' })
    assert.deepEqual(events.map(e => e.event), ['checking'], 'stopped before the check finished')
    assert.ok(events[0].event === 'checking' && events[0].chunks === 4, 'the state listed the 4 verified chunks')
    const after = (await readdir(out)).sort()
    assert.deepEqual(after, [...before.keys()].sort(), 'no file added or removed (the lock is released)')
    for (const [name, bytes] of before) assert.ok((await readFile(join(out, name))).equals(bytes), `${name} unchanged`)

    const result = await client.get(idText, { out })
    assert.ok(await sameFile(result.path, src))
    assert.ok(result.resumedBytes > 0)
  })

  it('a second download of the same file into the same folder is refused while the first runs; a dead owner\'s lock is taken over', async () => {
    const { src, idText } = await sharedRandomFile('twice.bin', 12 * MiB, 8 * MiB)
    const out = join(dir.path, 'out-twice')
    let second: Promise<any> | undefined
    const first = client.get(idText, {
      out,
      // settled into a value at once: it fails long before the first download ends
      onChunk: () => { second ??= client.get(idText, { out }).then(result => result, err => err) }
    })
    const firstResult = await first
    const refused = await second
    assert.equal(refused?.code, 'IO', String(refused))
    assert.match(refused.message, /another download of twice\.bin into .* is running \(pid \d+/)
    assert.ok(await sameFile(firstResult.path, src))
    assert.deepEqual(await readdir(out), ['twice.bin'], 'the refused download left nothing behind')

    // a lock whose process is gone (SIGKILL) does not block the next download
    const dead = spawn(process.execPath, ['-e', ''])
    await once(dead, 'exit')
    const lock = join(out, `.twice.bin.${idText.slice(2, 18)}.lock.part`)
    await writeFile(lock, `${dead.pid}\n`)
    const again = await client.get(idText, { out })
    assert.equal(again.path, join(out, 'twice (1).bin'))
    assert.ok(await sameFile(again.path, src))
    assert.deepEqual((await readdir(out)).sort(), ['twice (1).bin', 'twice.bin'], 'the stale lock is gone')
  })

  it('one seeder serves 20 concurrent downloaders', async () => {
    const src = join(dir.path, 'popular.bin')
    await writeRandomFile(src, 4 * MiB + 99)
    const { id } = await hashFile(src)
    const idText = formatContentId(id)
    const seeder = await sharer({ 'popular.bin': src })
    // each downloader connects to the master and the seeder first, one after the other: 20
    // noise handshakes at once in this one process (every node of the test runs in it) can
    // outlast libp2p's 6 s per-address dial timeout on a loaded machine. The downloads
    // themselves still run concurrently, over these connections. The master connection is
    // made by a lookup: one that did nothing would be closed as idle after 30 s
    // (idleConnectionMs), which 20 peers starting on a loaded machine can take.
    const downloaders: Peer[] = []
    for (let i = 0; i < 20; i++) {
      // the seeder alone serves them (no swarming: swarm-partial.test.ts covers that)
      const d = await startPeer(master, { upload: false })
      peers.push(d)
      assert.equal((await d.master!.providers(id)).providers.length, 1)
      await d.node.dial(multiaddr(seeder.addrs()[0]))
      downloaders.push(d)
    }
    const results = await Promise.all(downloaders.map(async (d, i) => await d.get(idText, { out: join(dir.path, `out-popular-${i}`) })))
    for (const r of results) {
      assert.ok(await sameFile(r.path, src))
      assert.equal(r.providers.find(p => p.peer === seeder.peerId)?.bytes, r.bytes)
    }
    await waitFor(() => seeder.activeUploads() === 0, 10_000, 'uploads to end')
  })

  it('a download into a shared folder is served by that sharing peer', async () => {
    const src = join(dir.path, 'spread.bin')
    await writeRandomFile(src, 2 * MiB + 1)
    const { id } = await hashFile(src)
    const idText = formatContentId(id)
    const origin = await sharer({ 'spread.bin': src })
    const collector = await sharer({})
    const share = join(dir.path, `share-${peers.length - 1}`)
    const got = await collector.get(idText, { out: join(share, 'downloads') })
    assert.ok(await sameFile(got.path, src))
    assert.ok(collector.catalog.get(id) != null, 'the sharing peer serves what it downloaded')
    await collector.flushRegistration()
    await origin.stop()
    const result = await client.get(idText, { out: join(dir.path, 'out-spread') })
    assert.ok(await sameFile(result.path, src))
    assert.equal(result.providers.find(p => p.peer === collector.peerId)?.bytes, result.bytes)
  })
})
