/**
 * Issue 10, item 11: nothing grows per stranger. 200 fresh keys (in-process libp2p nodes on
 * 127.0.0.1) connect to the master, some ask nothing and some ask lookups, then leave: the
 * master's peers table does not grow (only a registration writes a row). 50 fresh keys from
 * one IP ask for dial-backs: only the per-IP allowance (dialBackPerIpPerMinute) is served.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { mkdir } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'
import { createNode, type FileShareNode } from '../../src/node/create-node.js'
import { MasterClient } from '../../src/peer/master-client.js'
import { FileShareError } from '../../src/errors.js'
import { DEFAULT_CONFIG_DIR } from '../../src/cli/config.js'
import { DIALBACK_PER_IP_PER_MINUTE } from '../../src/protocols/dialback/constants.js'

const GRACE_MS = 300
const PER_IP = 5

/**
 * `act`, tried again (up to 4 times) when it fails with NETWORK: on a loaded machine a noise
 * handshake can time out before the request reaches the master.
 */
async function patiently<T> (act: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await act()
    } catch (err) {
      if (!(err instanceof FileShareError && err.code === 'NETWORK') || attempt === 4) throw err
    }
  }
}

/** `count` fresh keys, `batch` at a time: each connects, runs `act`, and stops. */
async function strangers (count: number, batch: number, act: (client: MasterClient, node: FileShareNode, i: number) => Promise<void>, masterAddr: string): Promise<void> {
  for (let start = 0; start < count; start += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, count - start) }, async (_, k) => {
      const node = await createNode({ listen: [] })
      try {
        await act(new MasterClient(node, multiaddr(masterAddr)), node, start + k)
      } finally {
        await node.stop()
      }
    }))
  }
}

describe('hostile strangers: nothing grows per stranger', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer

  before(async () => {
    dir = await tempDir()
    await mkdir(join(dir.path, 'share'))
    await writeRandomFile(join(dir.path, 'share', 'common.bin'), 10_000)
    master = await startMaster(dir.path, { providerGraceMs: GRACE_MS, dialBackPerIpPerMinute: PER_IP })
    sharer = await startPeer(master, { share: join(dir.path, 'share'), settleMs: 0, reachability: 'public' })
    await waitFor(() => sharer.registered(), 15_000, 'registration')
  })

  after(async () => {
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('200 fresh keys connect (asking nothing, or lookups) and leave: the peers table does not grow', async () => {
    const before = master.index.peerCount()
    assert.equal(before, 1, 'the sharing peer registered')
    let lookups = 0
    await strangers(200, 10, async (client, node, i) => {
      if (i % 2 === 0) {
        await patiently(async () => await node.dial(multiaddr(master.addrs()[0]), { signal: AbortSignal.timeout(10_000) }).catch(err => {
          throw new FileShareError('NETWORK', String(err))
        }))
      } else {
        const hits = await patiently(async () => await client.search('common'))
        assert.equal(hits.length, 1)
        lookups++
      }
    }, master.addrs()[0])
    assert.equal(lookups, 100)
    // every stranger is gone for longer than the grace: a not-live row would have appeared by now
    await new Promise(resolve => setTimeout(resolve, GRACE_MS * 3))
    assert.equal(master.index.peerCount(), before, 'no row per stranger')
    assert.equal(master.index.isLive(sharer.peerId), true, 'the registered peer is still live')
  })

  it('and libp2p\'s peer store forgets them: only connected or registered peers stay', async () => {
    // identify stored every stranger's key, addresses and protocols; each left 2 s or more ago
    const stored = async (): Promise<string[]> => (await master.node.peerStore.all()).map(p => p.id.toString())
    await waitFor(async () => (await stored()).length <= 1, 15_000, 'the peer store to shrink back')
    assert.deepEqual(await stored(), [sharer.peerId], 'the registered, connected peer stays')
    assert.ok(master.peerStoreJanitor.forgotten >= 100, `${master.peerStoreJanitor.forgotten} entries forgotten`)
    // a stranger that is still connected stays until it leaves
    const node = await createNode({ listen: [] })
    try {
      await patiently(async () => await new MasterClient(node, multiaddr(master.addrs()[0])).search('common'))
      await waitFor(async () => (await stored()).includes(node.peerId.toString()), 10_000, 'identify to store the stranger')
      assert.equal(await master.peerStoreJanitor.sweep(), 0, 'a sweep leaves connected peers')
      assert.ok((await stored()).includes(node.peerId.toString()))
    } finally {
      await node.stop()
    }
    await waitFor(async () => !(await stored()).includes(node.peerId.toString()), 15_000, 'the stranger to be forgotten')
  })

  it('a registered peer that leaves keeps its row, marked not live', async () => {
    const share = join(dir.path, 'share2')
    await mkdir(share)
    await writeRandomFile(join(share, 'other.bin'), 5_000)
    const p = await startPeer(master, { share, settleMs: 0, reachability: 'public' })
    await waitFor(() => p.registered(), 15_000, 'registration')
    const id = p.peerId
    const count = master.index.peerCount()
    await p.stop()
    await waitFor(() => master.index.isLive(id) === false, 10_000, 'not live')
    assert.equal(master.index.peerCount(), count)
  })

  it(`50 fresh keys from one IP ask for dial-backs: only ${PER_IP} are served`, async () => {
    let served = 0
    let limited = 0
    await strangers(50, 10, async client => {
      try {
        await patiently(async () => await client.dialBack([]))
        served++
      } catch (err) {
        assert.ok(err instanceof FileShareError && err.code === 'RATE_LIMITED', String(err))
        assert.match(err.message, /IP/)
        limited++
      }
    }, master.addrs()[0])
    assert.equal(served, PER_IP)
    assert.equal(limited, 50 - PER_IP)
    assert.equal(master.index.peerCount(), 2, 'and no rows for them either')
  })

  it('the per-IP allowance is a documented config key with a NAT-friendly default', () => {
    const config = JSON.parse(readFileSync(join(DEFAULT_CONFIG_DIR!, 'master.json'), 'utf8'))
    assert.equal(config.dialBackPerIpPerMinute, DIALBACK_PER_IP_PER_MINUTE)
    assert.ok(DIALBACK_PER_IP_PER_MINUTE >= 30)
  })
})
