/**
 * Issue 10, the master under a flood: a proven, long-lived client on a quiet IP is never
 * rate limited by other IPs' floods. Attackers (two households, 127.0.0.2 and 127.0.0.3, 8
 * keys each, within their budgets) keep register batches queued in the master's index lane,
 * as much estimated work as a request may wait for (INDEX_MAX_WAIT_MS);
 * meanwhile a real searching peer on 127.0.0.1 searches and looks up. Before the fix the lane
 * answered its searches RATE_LIMITED: their wait was estimated as all the work queued,
 * though round-robin over IPs runs a request after one turn of each other IP.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import { attacker, type Attacker } from '../helpers/attackers.js'
import type { Master, Peer } from '../../src/index.js'
import { MasterClient } from '../../src/peer/master-client.js'
import { RegisterRequest } from '../../src/protocols/register/pb/register.js'
import { hashFile } from '../../src/content/hash-file.js'
import { INDEX_MAX_WAIT_MS } from '../../src/master/tuning.js'

const FLOOD_IPS = ['127.0.0.2', '127.0.0.3']
const KEYS_PER_IP = 8
/** register loops each attacker key runs at once (the lane queues up to 8 requests per key) */
const IN_FLIGHT = 6
/** records per flood batch: one slice of the lane, so the floods keep it filled to the last slice */
const BATCH = 50

describe('hostile index flood from other IPs: the real client is not rate limited', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let searcher: Peer
  let fileId: Uint8Array
  const flooders: Attacker[] = []

  before(async () => {
    dir = await tempDir()
    const share = join(dir.path, 'share')
    await mkdir(share)
    await writeRandomFile(join(share, 'findable.bin'), 5000)
    fileId = (await hashFile(join(share, 'findable.bin'))).id
    // budgets the attackers do not exhaust: their backlog in the lane is what is tried here;
    // a small duty makes it seconds long (the lane rests 9 ms per ms of work)
    // (the refusal penalty is off: it would pause the attackers, what is tried here is the lane)
    master = await startMaster(dir.path, { indexDutyPercent: 10, indexMsPerIpPerSecond: 1_000_000, indexBurstMsPerIp: 1_000_000, refusalsBeforePause: 0 })
    sharer = await startPeer(master, { share, settleMs: 0, reachability: 'public' })
    searcher = await startPeer(master, { listen: [] })
    await waitFor(() => sharer.registered(), 15_000, 'registration')
    assert.equal((await searcher.search('findable')).length, 1, 'the searcher is connected and proven before the flood')
    for (const from of FLOOD_IPS) for (let i = 0; i < KEYS_PER_IP; i++) flooders.push(await attacker({ from }))
  })

  after(async () => {
    for (const f of flooders) await f.stop()
    await searcher?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('searches and lookups of the real client are answered while the floods fill the index lane', async () => {
    const target = multiaddr(master.addrs()[0])
    let flooding = true
    const answers: Record<string, number> = {}
    const flood = Promise.all(flooders.flatMap(node => Array.from({ length: IN_FLIGHT }, async (_, k) => {
      const client = new MasterClient(node as any, target)
      while (flooding) {
        const files = Array.from({ length: BATCH }, (_, i) => ({ id: randomBytes(32), path: `flood/${k}/${randomBytes(12).toString('hex')}-${i}.bin`, size: i }))
        try {
          await client.register({ op: RegisterRequest.Op.ADD, files, paths: [] }, AbortSignal.timeout(60_000))
          answers.OK = (answers.OK ?? 0) + 1
        } catch (err: any) {
          answers[err?.code ?? 'ERROR'] = (answers[err?.code ?? 'ERROR'] ?? 0) + 1
          await new Promise(resolve => setTimeout(resolve, 50))
        }
      }
    })))
    try {
      // the lane fills up to as much work as one request may wait for (what used to refuse everyone)
      await waitFor(() => master.indexLane.backlogMs > INDEX_MAX_WAIT_MS * 0.6, 30_000, 'the floods to fill the index lane')
      const backlog = Math.round(master.indexLane.backlogMs)
      for (let i = 0; i < 5; i++) {
        const hits = await searcher.search('findable')
        assert.equal(hits.length, 1, 'the real search is answered')
        const { providers } = await searcher.master!.providers(fileId)
        assert.equal(providers.length, 1, 'the real lookup is answered')
      }
      console.log(`# lane backlog ${backlog} ms (estimated) when the real client asked; flood answers so far ${JSON.stringify(answers)}`)
    } finally {
      flooding = false
      await flood
    }
    assert.ok((answers.OK ?? 0) > 0, 'the floods were served too (they were within their budgets)')
  })
})

/**
 * A key that keeps asking after RATE_LIMITED costs the master a stream and several encrypted
 * frames per refusal: past `refusalsBeforePause` refusals in a row its connection is not read
 * for `refusalPauseMs` (its next request waits in its own kernel), while the real client is
 * served; after the pause the key is answered again.
 */
describe('hostile request flood by one key: refused past the tolerance, its connection is paused', () => {
  const PAUSE_MS = 5_000
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let searcher: Peer
  let flooder: Attacker

  before(async () => {
    dir = await tempDir()
    master = await startMaster(dir.path, { requestsPerSecond: 2, requestBurst: 4, refusalsBeforePause: 3, refusalPauseMs: PAUSE_MS })
    searcher = await startPeer(master, { listen: [] })
    flooder = await attacker({ from: '127.0.0.2' })
  })

  after(async () => {
    await flooder?.stop()
    await searcher?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('the flooding key is refused, then not read; the real client is answered; after the pause the key is answered again', async () => {
    const client = new MasterClient(flooder as any, multiaddr(master.addrs()[0]))
    const key = flooder.peerId.toString()
    const batch = (): any => ({ op: RegisterRequest.Op.ADD, files: [{ id: randomBytes(32), path: `f/${randomBytes(8).toString('hex')}.bin`, size: 1 }], paths: [] })
    const codes: string[] = []
    // back to back, as a flood does, until the master stops answering
    while (!master.penalty.isPaused(key) && codes.length < 50) {
      try {
        await client.register(batch(), AbortSignal.timeout(10_000))
        codes.push('OK')
      } catch (err: any) {
        codes.push(err?.code ?? 'ERROR')
      }
    }
    assert.ok(master.penalty.isPaused(key), `the key was paused after ${codes.join(' ')}`)
    assert.ok(codes.filter(c => c === 'RATE_LIMITED').length >= 3, codes.join(' '))
    assert.equal(master.penalty.pauses, 1)
    // paused: its next request is not read (no answer), the real client's are
    const unanswered = client.register(batch(), AbortSignal.timeout(PAUSE_MS / 2)).then(() => 'answered', (err: any) => err?.code ?? 'ERROR')
    assert.equal((await searcher.search('anything')).length, 0, 'the real search is answered')
    assert.notEqual(await unanswered, 'answered')
    assert.notEqual(await unanswered, 'RATE_LIMITED', 'no refusal was sent either: the request was not read')
    // the pause ends: the key is read and answered again (its budget refilled meanwhile)
    await waitFor(() => !master.penalty.isPaused(key), PAUSE_MS * 2, 'the pause to end')
    const res = await client.register(batch(), AbortSignal.timeout(10_000))
    assert.equal(res.files > 0, true)
  })
})
