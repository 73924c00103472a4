/**
 * Issue 10, item 3: no single peer can block a sharer's uploads. An attacker node opens
 * every fetch stream one connection may (32), asks for chunks on each and never reads
 * (its streams are paused: no yamux window comes back). It gets at most `maxUploadsPerPeer`
 * upload slots (the rest BUSY), the streams holding them lose them and are reset once the
 * wait for 'drain' times out (`streamIdleTimeoutMs`), and meanwhile a real get from the same
 * sharer (library, and dist/peer.js) succeeds. Several keys from one IP hold at most
 * `maxUploadsPerIp` slots together.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor, sameFile } from '../helpers/swarm.js'
import { runToEnd, killAll, PEER_JS } from '../helpers/processes.js'
import type { Master, Peer } from '../../src/index.js'
import { createNode, type FileShareNode } from '../../src/node/create-node.js'
import { FetchRequest } from '../../src/protocols/fetch/pb/fetch.js'
import { encodeFrame } from '../../src/protocols/frames.js'
import { PROTOCOL_FETCH } from '../../src/protocols/fetch/constants.js'
import type { FetchServer, UploadSlots } from '../../src/protocols/fetch/index.js'
import { MAX_INBOUND_STREAMS } from '../../src/protocols/constants.js'
import { parseContentId, formatContentId } from '../../src/content/content-id.js'

const MiB = 1024 * 1024
const IDLE_MS = 6000
const PER_PEER = 2
const PER_IP = 4

function slotsOf (peer: Peer): UploadSlots {
  return (peer.node.services.fetch as FetchServer).slots
}

/** Samples `value` every 10 ms (slot holders live for IDLE_MS: a sample cannot miss them); `stop` returns the highest. */
function peak (value: () => number): { readonly max: number, stop: () => number } {
  let max = value()
  const timer = setInterval(() => { max = Math.max(max, value()) }, 10)
  return { get max () { return Math.max(max, value()) }, stop: () => { clearInterval(timer); return Math.max(max, value()) } }
}

interface AttackStream {
  stream: Stream
  /** when the sharer ended it (reset, or its write side closed after BUSY) */
  endedAt: number | null
}

/** Opens `count` fetch streams to `addr`, asks for `chunks` chunks of `id` on each and never reads. */
async function attack (node: FileShareNode, addr: string, id: Uint8Array, count: number, chunks: number): Promise<AttackStream[]> {
  const out: AttackStream[] = []
  for (let i = 0; i < count; i++) {
    const stream = await node.dialProtocol(multiaddr(addr), PROTOCOL_FETCH, { signal: AbortSignal.timeout(10_000) })
    // paused: nothing is read, so no window update goes back and the sharer's sends stall
    stream.pause()
    const s: AttackStream = { stream, endedAt: null }
    const ended = (): void => { s.endedAt ??= Date.now() }
    stream.addEventListener('close', ended)
    stream.addEventListener('remoteCloseWrite', ended)
    for (let c = 0; c < chunks; c++) stream.send(encodeFrame(FetchRequest.encode({ kind: FetchRequest.Kind.CHUNK, id, index: c, name: '' })))
    out.push(s)
  }
  return out
}

describe('hostile uploads: no single peer blocks a sharer', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let client: Peer
  let src: string
  let idText: string
  let id: Uint8Array

  before(async () => {
    dir = await tempDir()
    const share = join(dir.path, 'share')
    await mkdir(share)
    src = join(share, 'big.bin')
    await writeRandomFile(src, 8 * MiB)
    master = await startMaster(dir.path)
    sharer = await startPeer(master, {
      share, settleMs: 0, reachability: 'public', streamIdleTimeoutMs: IDLE_MS, maxUploadsPerPeer: PER_PEER, maxUploadsPerIp: PER_IP
    })
    client = await startPeer(master)
    await waitFor(() => sharer.registered(), 15_000, 'registration')
    const [hit] = await client.search('big')
    idText = hit.id
    id = parseContentId(idText)
    assert.equal(formatContentId(id), idText)
  })

  after(async () => {
    await killAll()
    await client?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it(`an attacker with ${MAX_INBOUND_STREAMS} never-read streams holds ${PER_PEER} slots, a real get succeeds, its streams are reset after the idle timeout`, async () => {
    const attacker = await createNode({ listen: [] })
    try {
      const slots = slotsOf(sharer)
      const held = peak(() => slots.heldBy(attacker.peerId.toString()))
      const started = Date.now()
      const streams = await attack(attacker, sharer.addrs()[0], id, MAX_INBOUND_STREAMS, 8)
      // the sharer answered every stream: a slot (sending, stalled) or BUSY (write side closed)
      await waitFor(() => streams.filter(s => s.endedAt != null).length >= MAX_INBOUND_STREAMS - PER_PEER, 20_000, 'BUSY answers')
      await waitFor(() => held.max === PER_PEER, 5_000, 'the attacker holds its per-peer slots')

      // a real get from the same sharer, through the master, while the attacker holds its slots
      assert.equal(slots.heldBy(attacker.peerId.toString()), PER_PEER, 'the attacker still holds its slots as the get starts')
      const result = await client.get(idText, { out: join(dir.path, 'out-lib') })
      assert.ok(await sameFile(result.path, src))

      // the stalled streams are reset once their wait for 'drain' timed out
      await waitFor(() => streams.every(s => s.endedAt != null), IDLE_MS * 5, 'attacker streams closed')
      const resets = streams.filter(s => s.stream.status === 'reset')
      assert.ok(resets.length >= PER_PEER, `the slot holders were reset (${streams.map(s => s.stream.status).join()})`)
      for (const s of resets) assert.ok(s.endedAt! - started >= IDLE_MS * 0.9, 'not before the idle timeout')
      await waitFor(() => slots.heldBy(attacker.peerId.toString()) === 0, 5_000, 'slots given back')
      assert.equal(held.stop(), PER_PEER, 'never more than its per-peer slots')
    } finally {
      await attacker.stop()
    }
    await waitFor(() => sharer.activeUploads() === 0, 10_000, 'no slot held')
  })

  it('dist/peer.js get from the same sharer succeeds while an attacker stalls its streams', { skip: !existsSync(PEER_JS) && 'dist/peer.js not built (npm run build)' }, async () => {
    const attacker = await createNode({ listen: [] })
    try {
      const held = peak(() => slotsOf(sharer).heldBy(attacker.peerId.toString()))
      await attack(attacker, sharer.addrs()[0], id, MAX_INBOUND_STREAMS, 8)
      await waitFor(() => held.max === PER_PEER, 10_000, 'attacker holds its slots')
      held.stop()
      const out = join(dir.path, 'out-cli')
      const { code, events, stderr } = await runToEnd(PEER_JS, ['get', idText, '--master', master.addrs()[0], '--out', out, '--json'])
      assert.equal(code, 0, stderr)
      const done = events.find(e => e.event === 'done')
      assert.ok(done != null, stderr)
      assert.ok(await sameFile(done.path, src))
    } finally {
      await attacker.stop()
    }
  })

  it(`several keys from one IP hold at most ${PER_IP} slots together, and all are given back`, async () => {
    const attackers = await Promise.all(Array.from({ length: 4 }, async () => await createNode({ listen: [] })))
    try {
      const slots = slotsOf(sharer)
      const fromIp = peak(() => slots.heldFrom('127.0.0.1'))
      const perKey = peak(() => Math.max(0, ...attackers.map(a => slots.heldBy(a.peerId.toString()))))
      try {
        const streams = (await Promise.all(attackers.map(async a => await attack(a, sharer.addrs()[0], id, 4, 4)))).flat()
        await waitFor(() => streams.filter(s => s.endedAt != null).length >= streams.length - PER_IP, 20_000, 'BUSY answers')
        await waitFor(() => fromIp.max === PER_IP, 5_000, 'the IP holds its slots')
        await waitFor(() => streams.every(s => s.endedAt != null), IDLE_MS * 5, 'attacker streams closed')
        await waitFor(() => slots.active === 0, 5_000, 'slots given back')
      } finally {
        fromIp.stop()
        perKey.stop()
      }
      assert.equal(fromIp.max, PER_IP, 'never more than the per-IP slots')
      assert.ok(perKey.max <= PER_PEER, `per key: ${perKey.max}`)
    } finally {
      await Promise.all(attackers.map(async a => { await a.stop() }))
    }
    // and the sharer serves again
    const result = await client.get(idText, { out: join(dir.path, 'out-after') })
    assert.ok(await sameFile(result.path, src))
  })
})
