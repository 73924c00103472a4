/**
 * Hostile input over real libp2p streams on 127.0.0.1: malformed and oversized frames on
 * every protocol (and fast-check bytes), unknown protocol versions, ids the peer does not
 * share, path tricks, a peer naming another PeerId, floods from one peer, and streams that
 * open and never send. After each, the master and the sharing peer keep serving others.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'
import { createNode, type FileShareNode } from '../../src/node/create-node.js'
import { MasterClient } from '../../src/peer/master-client.js'
import { FetchSession, FetchError } from '../../src/protocols/fetch/client.js'
import { RegisterRequest, RegisterResponse } from '../../src/protocols/register/pb/register.js'
import { LookupResponse } from '../../src/protocols/lookup/pb/lookup.js'
import { FetchResponse } from '../../src/protocols/fetch/pb/fetch.js'
import { encodeFrame, readFrameLength } from '../../src/protocols/frames.js'
import { PROTOCOL_FETCH } from '../../src/protocols/fetch/constants.js'
import { PROTOCOL_LOOKUP } from '../../src/protocols/lookup/constants.js'
import { PROTOCOL_REGISTER, MAX_REGISTER_FRAME } from '../../src/protocols/register/constants.js'
import { MAX_CONTROL_FRAME } from '../../src/protocols/constants.js'
import { FileShareError } from '../../src/errors.js'
import { parseContentId } from '../../src/content/content-id.js'

/**
 * The request and stream-idle timeout of the nodes in the test of silent streams. Only that
 * test needs a short one; every other test runs against nodes with the default timeouts.
 * (With 400 ms everywhere, a loaded machine made the master and the sharer reset honest
 * and flood requests alike before they were answered: NETWORK instead of RATE_LIMITED.)
 */
const SHORT_TIMEOUT_MS = 2000

/** `; first NETWORK error: …` when some request failed as NETWORK, for an assertion message */
function firstNetworkError (results: Array<PromiseSettledResult<unknown>>): string {
  const hit = results.find(r => r.status === 'rejected' && (r.reason as FileShareError).code === 'NETWORK') as PromiseRejectedResult | undefined
  return hit == null ? '' : `; first NETWORK error: ${hit.reason.message}`
}

/** A varint length prefix claiming `n` bytes. */
function prefix (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return new Uint8Array(out)
}

interface RawResult { bytes: Uint8Array, reset: boolean }

/** Opens `protocol`, writes `data` as is, half-closes, and returns whatever comes back until the stream ends. */
async function raw (node: FileShareNode, peer: string, addr: string, protocol: string, data: Uint8Array, halfClose = true): Promise<RawResult> {
  void peer
  const stream: Stream = await node.dialProtocol(multiaddr(addr), protocol, { signal: AbortSignal.timeout(5000) })
  const received = new Uint8ArrayList()
  let reset = false
  // 'message' events, not for-await: an iterator started after the stream closed never ends
  stream.addEventListener('message', (evt: any) => { received.append(evt.data) })
  const closed = new Promise<void>(resolve => stream.addEventListener('close', (evt: any) => { reset = reset || evt?.error != null; resolve() }))
  if (data.length > 0) stream.send(data)
  if (halfClose) await stream.close().catch(() => { reset = true })
  await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 5000))])
  assert.notEqual(stream.status, 'open', 'the remote ended the stream')
  return { bytes: received.subarray(), reset }
}

/** The protobuf inside the first length-prefixed frame of `bytes`. */
function firstFrame (bytes: Uint8Array): Uint8Array {
  const list = new Uint8ArrayList(bytes)
  const r = readFrameLength(list, 1 << 20)
  assert.ok(r != null, 'a complete response frame')
  return bytes.subarray(r.prefixBytes, r.prefixBytes + r.length)
}

describe('hostile input: nothing breaks a node', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let client: Peer
  let attacker: FileShareNode
  let masterAddr: string
  let sharerAddr: string

  before(async () => {
    dir = await tempDir()
    const share = join(dir.path, 'share')
    await mkdir(share)
    await writeRandomFile(join(share, 'good.bin'), 50_000)
    // a per-peer budget of 40 requests per protocol in a 40 s window: a flood of 80 exceeds it
    // however slowly the machine runs, the honest client (≈ 25 lookups in all) never does
    master = await startMaster(dir.path, { requestBurst: 40, requestsPerSecond: 1, maxFilesPerPeer: 20 })
    masterAddr = master.addrs()[0]
    sharer = await startPeer(master, { share, settleMs: 0 })
    sharerAddr = sharer.addrs()[0]
    client = await startPeer(master)
    attacker = await createNode({ listen: [] })
    await waitFor(() => sharer.registered(), 10_000, 'registration')
  })

  after(async () => {
    await attacker?.stop()
    await client?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  /** The honest client still gets answers, and a download still works. */
  async function stillServing (): Promise<void> {
    const hits = await client.search('good')
    assert.equal(hits.length, 1)
    const result = await client.get(hits[0].id, { out: join(dir.path, `out-${Math.random()}`) })
    assert.equal(result.bytes, 50_000)
  }

  it('register and lookup: a frame that does not decode gets BAD_REQUEST', async () => {
    // field 2 (files) announces 127 bytes, 3 follow
    const body = new Uint8Array([0x12, 0x7f, 1, 2, 3])
    for (const [protocol, codec] of [[PROTOCOL_REGISTER, RegisterResponse], [PROTOCOL_LOOKUP, LookupResponse]] as const) {
      const res = await raw(attacker, master.peerId, masterAddr, protocol, new Uint8Array([...prefix(body.length), ...body]))
      const decoded = codec.decode(firstFrame(res.bytes))
      assert.equal(decoded.status, 'BAD_REQUEST', `${protocol}: ${decoded.message}`)
    }
    await stillServing()
  })

  it('register and lookup: an oversized frame is refused from its length prefix, before it arrives', async () => {
    for (const [protocol, max] of [[PROTOCOL_REGISTER, MAX_REGISTER_FRAME], [PROTOCOL_LOOKUP, MAX_CONTROL_FRAME]] as const) {
      // claims 1 GiB, sends a few bytes: nothing is allocated, the answer comes at once
      const claim = await raw(attacker, master.peerId, masterAddr, protocol, new Uint8Array([...prefix(1 << 30), 1, 2, 3]))
      assert.ok(claim.reset || RegisterResponse.decode(firstFrame(claim.bytes)).status !== RegisterResponse.Status.OK)
      // really sends max + 1 bytes
      const big = await raw(attacker, master.peerId, masterAddr, protocol, new Uint8Array([...prefix(max + 1), ...randomBytes(max + 1)]))
      assert.ok(big.reset || RegisterResponse.decode(firstFrame(big.bytes)).status !== RegisterResponse.Status.OK, `${protocol} accepted an oversized frame`)
    }
    await stillServing()
  })

  it('fetch: malformed and oversized request frames end that stream only', async () => {
    const garbage = await raw(attacker, sharer.peerId, sharerAddr, PROTOCOL_FETCH, new Uint8Array([...prefix(5), 0x12, 0x7f, 1, 2, 3]))
    assert.equal(garbage.bytes.length, 0)
    const oversized = await raw(attacker, sharer.peerId, sharerAddr, PROTOCOL_FETCH, new Uint8Array([...prefix(MAX_CONTROL_FRAME + 1), ...randomBytes(1000)]))
    assert.equal(oversized.bytes.length, 0)
    await stillServing()
  })

  it('fast-check: arbitrary bytes on every protocol never crash the master or the peer', async () => {
    const targets = [
      [master.peerId, masterAddr, PROTOCOL_REGISTER],
      [master.peerId, masterAddr, PROTOCOL_LOOKUP],
      [sharer.peerId, sharerAddr, PROTOCOL_FETCH]
    ] as const
    const fuzzer = await createNode({ listen: [] })
    try {
      await fc.assert(fc.asyncProperty(fc.constantFrom(0, 1, 2), fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (t, bytes, framed) => {
        const [peer, addr, protocol] = targets[t]
        const data = framed ? encodeFrame(bytes) : bytes
        const res = await raw(fuzzer, peer, addr, protocol, data)
        if (protocol !== PROTOCOL_FETCH && res.bytes.length > 0) {
          // whatever comes back is one well-formed response
          const codec = protocol === PROTOCOL_REGISTER ? RegisterResponse : LookupResponse
          assert.equal(typeof codec.decode(firstFrame(res.bytes)).status, 'string')
        }
      }), { numRuns: 45 })
    } finally {
      await fuzzer.stop()
    }
    await stillServing()
  })

  it('a hostile provider sending arbitrary response bytes gets a clear error, never a hang or a crash', async () => {
    const evil = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    let reply: Uint8Array = new Uint8Array(0)
    await evil.handle(PROTOCOL_FETCH, async (stream: Stream) => {
      // answers the first request with whatever the property chose, then ends the stream
      stream.addEventListener('message', () => {
        stream.send(reply)
        void stream.close().catch(() => {})
      }, { once: true })
    })
    try {
      const id = new Uint8Array(32)
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (bytes, framed) => {
        reply = framed ? encodeFrame(bytes) : bytes
        const stream = await client.node.dialProtocol(evil.getMultiaddrs()[0], PROTOCOL_FETCH)
        const session = new FetchSession(stream, 10_000)
        try {
          await session.manifest(id)
        } catch (err) {
          assert.ok(err instanceof Error)
        } finally {
          await session.close().catch(() => {})
        }
      }), { numRuns: 30 })
      // a response header announcing a payload larger than any manifest is refused up front
      reply = encodeFrame(FetchResponse.encode({ status: FetchResponse.Status.OK, message: '', index: 0, length: 2 ** 31 }))
      const session = new FetchSession(await client.node.dialProtocol(evil.getMultiaddrs()[0], PROTOCOL_FETCH), 10_000)
      await assert.rejects(session.manifest(id), (err: any) => err instanceof FileShareError && err.code === 'PROTOCOL')
      await session.close()
    } finally {
      await evil.stop()
    }
  })

  it('an unknown protocol version fails cleanly at negotiation', async () => {
    for (const [addr, protocol] of [[sharerAddr, '/fileshare/fetch/9.9.9'], [masterAddr, '/fileshare/register/9.9.9'], [masterAddr, '/fileshare/lookup/2.0.0']]) {
      await assert.rejects(attacker.dialProtocol(multiaddr(addr), protocol), (err: any) => err?.name === 'UnsupportedProtocolError', protocol)
    }
    await stillServing()
  })

  it('ids the peer does not share, bad ids and path-like names get NOT_FOUND / BAD_REQUEST', async () => {
    const session = new FetchSession(await attacker.dialProtocol(multiaddr(sharerAddr), PROTOCOL_FETCH))
    try {
      await assert.rejects(session.manifest(randomBytes(32)), (err: any) => err instanceof FetchError && err.code === 'NOT_FOUND')
      await assert.rejects(session.manifest(randomBytes(7)), (err: any) => err instanceof FetchError && err.code === 'NOT_FOUND')
      for (const name of ['../../etc/passwd', '/etc/passwd', '..', 'good.bin/..', '%2e%2e/good.bin']) {
        assert.deepEqual(await session.resolve(name), [], name)
      }
    } finally {
      await session.close()
    }
    await stillServing()
  })

  it('the master rejects register paths with .., absolute paths and other tricks', async () => {
    const m = new MasterClient(attacker, multiaddr(masterAddr))
    const id = randomBytes(32)
    for (const path of ['../escape.txt', 'a/../../b', '/etc/passwd', 'a\\..\\b', '', 'a//b', './a', 'a/\0b']) {
      await assert.rejects(m.register({ op: RegisterRequest.Op.ADD, files: [{ id, path, size: 1 }], paths: [] }),
        (err: any) => err instanceof FileShareError && /bad path/.test(err.message), JSON.stringify(path))
    }
    await assert.rejects(m.register({ op: RegisterRequest.Op.REMOVE, files: [], paths: ['../good.bin'] }), /bad path/)
    assert.equal(master.index.fileCount(attacker.peerId.toString()), 0)
  })

  it('a peer cannot register files for another PeerId: records bind to the authenticated connection', async () => {
    const m = new MasterClient(attacker, multiaddr(masterAddr))
    const victim = sharer.peerId
    const before = master.index.fileCount(victim)
    // the message has no field for a PeerId; smuggle one as an unknown field anyway (field 15, bytes)
    const victimBytes = sharer.node.peerId.toMultihash().bytes
    const request = RegisterRequest.encode({ op: RegisterRequest.Op.RESET, files: [{ id: randomBytes(32), path: 'forged.txt', size: 5 }], paths: [] })
    const smuggled = new Uint8Array([...request, 0x7a, victimBytes.length, ...victimBytes])
    const res = await raw(attacker, master.peerId, masterAddr, PROTOCOL_REGISTER, encodeFrame(smuggled))
    assert.equal(RegisterResponse.decode(firstFrame(res.bytes)).status, RegisterResponse.Status.OK)
    assert.equal(master.index.fileCount(attacker.peerId.toString()), 1, 'the record belongs to the sender')
    assert.equal(master.index.fileCount(victim), before, 'the victim is untouched')
    const [hit] = await client.search('forged')
    assert.equal(hit.providers, 1)
    const { providers } = await client.master!.providers(parseContentId(hit.id))
    assert.deepEqual(providers.map(p => p.peer.toString()), [attacker.peerId.toString()])
    // a RESET by the attacker touches only its own records; REMOVE of the victim's path too
    await m.register({ op: RegisterRequest.Op.REMOVE, files: [], paths: ['good.bin'] })
    await m.register({ op: RegisterRequest.Op.RESET, files: [], paths: [] })
    assert.equal(master.index.fileCount(victim), before)
    await stillServing()
  })

  it('a flood of lookups from one peer gets RATE_LIMITED; others are still served', async () => {
    const flooder = await createNode({ listen: [] })
    try {
      const m = new MasterClient(flooder, multiaddr(masterAddr))
      const results: Array<PromiseSettledResult<unknown>> = []
      for (let round = 0; round < 8; round++) {
        results.push(...await Promise.allSettled(Array.from({ length: 10 }, async () => await m.search('good'))))
      }
      const limited = results.filter(r => r.status === 'rejected' && (r.reason as FileShareError).code === 'RATE_LIMITED')
      assert.ok(limited.length > 0, `some lookups were rate limited: ${results.map(r => r.status === 'rejected' ? (r.reason as FileShareError).code : 'ok').join()}${firstNetworkError(results)}`)
      assert.ok(results.every(r => r.status === 'fulfilled' || ['RATE_LIMITED', 'NETWORK'].includes((r.reason as FileShareError).code)))
      assert.match((limited[0] as PromiseRejectedResult).reason.message, /too many lookups/)
    } finally {
      await flooder.stop()
    }
    await stillServing()
  })

  it('a flood of registrations gets RATE_LIMITED, and more files than the quota QUOTA_EXCEEDED', async () => {
    const flooder = await createNode({ listen: [] })
    try {
      const m = new MasterClient(flooder, multiaddr(masterAddr))
      const file = (i: number): { id: Uint8Array, path: string, size: number } => ({ id: randomBytes(32), path: `f-${i}.bin`, size: i })
      await assert.rejects(m.register({ op: RegisterRequest.Op.RESET, files: Array.from({ length: 21 }, (_, i) => file(i)), paths: [] }),
        (err: any) => err.code === 'QUOTA_EXCEEDED' && /at most 20 files/.test(err.message))
      assert.equal(master.index.fileCount(flooder.peerId.toString()), 0)
      const results: Array<PromiseSettledResult<unknown>> = []
      for (let round = 0; round < 6; round++) {
        results.push(...await Promise.allSettled(Array.from({ length: 10 }, async (_, i) => await m.register({ op: RegisterRequest.Op.ADD, files: [file(i)], paths: [] }))))
      }
      assert.ok(results.some(r => r.status === 'rejected' && (r.reason as FileShareError).code === 'RATE_LIMITED'), `rate limited: ${results.map(r => r.status === 'rejected' ? (r.reason as FileShareError).code : 'ok').join()}${firstNetworkError(results)}`)
      assert.ok(master.index.fileCount(flooder.peerId.toString()) <= 20, 'quota holds under a flood')
    } finally {
      await flooder.stop()
    }
    await stillServing()
  })

  it('streams that open and never send are closed by the timeout, on every protocol', async () => {
    // a master and a sharing peer of their own with a short timeout, and an honest client of theirs
    const impatient = await startMaster(join(dir.path, 'impatient'), { requestTimeoutMs: SHORT_TIMEOUT_MS })
    const nodes: Array<{ stop: () => void | Promise<void> }> = [impatient]
    try {
      const impatientSharer = await startPeer(impatient, { share: join(dir.path, 'share'), settleMs: 0, streamIdleTimeoutMs: SHORT_TIMEOUT_MS })
      nodes.push(impatientSharer)
      const honest = await startPeer(impatient)
      nodes.push(honest)
      const silent = await createNode({ listen: [] })
      nodes.push(silent)
      await waitFor(() => impatientSharer.registered(), 10_000, 'registration')
      const streams: Stream[] = []
      for (const [addr, protocol] of [[impatient.addrs()[0], PROTOCOL_REGISTER], [impatient.addrs()[0], PROTOCOL_LOOKUP], [impatientSharer.addrs()[0], PROTOCOL_FETCH]]) {
        for (let i = 0; i < 10; i++) streams.push(await silent.dialProtocol(multiaddr(addr), protocol))
      }
      // meanwhile the honest client is served
      const hits = await honest.search('good')
      assert.equal(hits.length, 1)
      assert.equal((await honest.get(hits[0].id, { out: join(dir.path, 'out-impatient') })).bytes, 50_000)
      await waitFor(() => streams.every(s => s.status !== 'open'), 30_000, 'silent streams closed by the remote timeout')
      assert.ok(streams.every(s => s.status === 'reset' || s.status === 'closed' || s.status === 'aborted'))
    } finally {
      for (const node of nodes.reverse()) await Promise.resolve(node.stop()).catch(() => {})
    }
  })
})
