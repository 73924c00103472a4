/**
 * Issue 10, item 5: the relay serves FileShare, nothing else. A node that merely lists
 * /fileshare/fetch/1.0.0 in identify gets no reservation, so a plain client cannot tunnel a
 * foreign protocol through the master to it; a registered peer the dial-back reached
 * (public) gets none either; fake peers cannot take the slots a real NATed peer needs; and
 * one IP address holds at most reservationsPerIp slots.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'
import { createNode, type FileShareNode } from '../../src/node/create-node.js'
import { fetchServer } from '../../src/protocols/fetch/index.js'
import { Catalog } from '../../src/peer/catalog.js'
import { isRelayed } from '../../src/node/addresses.js'

const MiB = 1024 * 1024

/** A node that speaks FileShare in identify (it serves fetch) but never registers, and serves a foreign protocol. */
async function fakePeer (): Promise<FileShareNode> {
  const node = await createNode({ listen: [], relayTransport: true, services: { fetch: fetchServer({ catalog: new Catalog(), serving: true }) } })
  await node.handle('/evil/tunnel/1.0.0', async (stream) => {
    // echo everything back: a tunnel for any bytes
    for await (const chunk of stream) stream.send(chunk.subarray())
    await stream.close().catch(() => {})
  }, { runOnLimitedConnection: true })
  return node
}

async function tryReserve (node: FileShareNode, master: Master): Promise<boolean> {
  await node.services.relayReservations?.reserve(multiaddr(`${master.addrs()[0]}/p2p-circuit`)).catch(() => {})
  return node.getMultiaddrs().some(a => isRelayed(a.toString()))
}

describe('hostile relay use: the relay serves FileShare, nothing else', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  const stoppers: Array<{ stop: () => unknown }> = []

  before(async () => {
    dir = await tempDir()
    // 3 slots in all, 2 per IP: every peer here comes from 127.0.0.1
    master = await startMaster(dir.path, { relay: { maxReservations: 3, dataLimit: 64 * MiB, durationLimit: 0 }, reservationsPerIp: 2 })
  })

  after(async () => {
    for (const s of stoppers.reverse()) await Promise.resolve(s.stop()).catch(() => {})
    await master?.stop()
    await dir?.cleanup()
  })

  it('a node that only lists FileShare in identify gets no slot: a foreign tunnel through the master fails', async () => {
    const fake = await fakePeer()
    stoppers.push(fake)
    assert.equal(await tryReserve(fake, master), false, 'no reservation for a peer that registered nothing')
    assert.equal(master.node.services.relay?.reservations.has(fake.peerId), false)

    const client = await createNode({ listen: [], relayTransport: true })
    stoppers.push(client)
    const circuit = multiaddr(`${master.addrs()[0]}/p2p-circuit/p2p/${fake.peerId.toString()}`)
    await assert.rejects(async () => {
      const stream = await client.dialProtocol(circuit, '/evil/tunnel/1.0.0', { runOnLimitedConnection: true, signal: AbortSignal.timeout(10_000) })
      stream.send(new Uint8Array(8 * MiB))
      await stream.close()
    }, 'the relay connects nobody to a peer without a slot')
  })

  it('fake peers cannot starve a real NATed peer: they get no slot, the NATed peer gets one', async () => {
    // side by side: each refusal takes the master's wait for a registration (5 s)
    const refused = await Promise.all(Array.from({ length: 3 }, async () => {
      const fake = await fakePeer()
      stoppers.push(fake)
      return await tryReserve(fake, master)
    }))
    assert.deepEqual(refused, [false, false, false])
    assert.equal(master.node.services.relay?.reservations.size, 0)

    const share = join(dir.path, 'natted')
    await mkdir(share)
    await writeRandomFile(join(share, 'behind-nat.bin'), 100_000)
    // no listen address: reachable only through the relay
    const natted = await startPeer(master, { share, listen: [], settleMs: 0 })
    stoppers.push(natted)
    const state = await natted.reachabilitySettled(20_000)
    assert.equal(state.reachability, 'relayed', JSON.stringify(state))
    assert.equal(master.node.services.relay?.reservations.has(natted.node.peerId), true)

    // and downloads through the relay work
    const downloader = await startPeer(master, { listen: [] })
    stoppers.push(downloader)
    const hits = await downloader.search('behind')
    assert.equal(hits.length, 1)
    const result = await downloader.get(hits[0].id, { out: join(dir.path, 'out') })
    assert.equal(result.bytes, 100_000)
  })

  it('a registered peer the dial-back reached is public: no slot for it', async () => {
    const share = join(dir.path, 'public')
    await mkdir(share)
    await writeRandomFile(join(share, 'public.bin'), 1000)
    const pub = await startPeer(master, { share, settleMs: 0 })
    stoppers.push(pub)
    assert.equal((await pub.reachabilitySettled(20_000)).reachability, 'public')
    await waitFor(() => pub.registered(), 15_000, 'registration')
    assert.equal(await tryReserve(pub.node as FileShareNode, master), false)
    assert.equal(master.node.services.relay?.reservations.has(pub.node.peerId), false)
  })

  it(`one IP holds at most reservationsPerIp (2) slots`, async () => {
    const peers: Peer[] = []
    for (const name of ['second', 'third']) {
      const share = join(dir.path, name)
      await mkdir(share)
      await writeRandomFile(join(share, `${name}.bin`), 1000)
      const p = await startPeer(master, { share, listen: [], settleMs: 0 })
      stoppers.push(p)
      peers.push(p)
    }
    await waitFor(() => peers.every(p => p.registered()), 15_000, 'registration')
    // one of the two gets this IP's second slot, the other is refused (and keeps retrying)
    await waitFor(() => peers.some(p => p.reachability().reachability === 'relayed'), 20_000, 'a second slot')
    await Promise.all(peers.map(async p => await p.reachabilitySettled(10_000)))
    await new Promise(resolve => setTimeout(resolve, 1000))
    const relayed = peers.filter(p => master.node.services.relay?.reservations.has(p.node.peerId) === true)
    assert.equal(relayed.length, 1, 'exactly one more slot for this IP')
    assert.equal(master.node.services.relay?.reservations.size, 2)
  })
})
