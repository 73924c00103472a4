import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'

const MiB = 1024 * 1024

describe('reachability and the relay (in-process swarm on 127.0.0.1)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let publicPeer: Peer
  let hidden: Peer
  let client: Peer
  let shareHidden: string

  before(async () => {
    dir = await tempDir()
    shareHidden = join(dir.path, 'hidden')
    const sharePublic = join(dir.path, 'public')
    await mkdir(shareHidden)
    await mkdir(sharePublic)
    await writeRandomFile(join(shareHidden, 'relayed.bin'), 10 * MiB + 5)
    await writeRandomFile(join(sharePublic, 'direct.bin'), 2 * MiB)
    // a relay limit far below the file size: every relayed connection is cut mid-transfer
    master = await startMaster(dir.path, { relay: { dataLimit: 4 * MiB, durationLimit: 0 } })
    publicPeer = await startPeer(master, { share: sharePublic })
    // no listen address at all: reachable only through the master's relay
    hidden = await startPeer(master, { share: shareHidden, listen: [] })
    // a client nobody can dial back, so the relayed path cannot turn direct
    client = await startPeer(master, { listen: [] })
    await waitFor(() => publicPeer.registered() && hidden.registered(), 10_000, 'registration')
  })

  after(async () => {
    await client?.stop()
    await hidden?.stop()
    await publicPeer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('finds a listening peer public by a dial-back from the master', async () => {
    const state = await publicPeer.reachabilitySettled(10_000)
    assert.equal(state.reachability, 'public')
    assert.ok(state.addrs.length > 0 && state.addrs.every(a => a.startsWith('/ip4/127.0.0.1/tcp/')), state.addrs.join())
  })

  it('reserves a relay slot for a peer that is not reachable and registers the relayed address', async () => {
    const state = await hidden.reachabilitySettled(10_000)
    assert.equal(state.reachability, 'relayed')
    assert.ok(state.addrs.length > 0 && state.addrs.every(a => a.includes(`/p2p/${master.peerId}/p2p-circuit`)), state.addrs.join())
    // the master's lookups hand out the relayed address of a peer holding a reservation
    await waitFor(async () => (await client.master!.peerAddrs(hidden.node.peerId)).some(a => a.toString().includes('/p2p-circuit')), 10_000, 'relayed address at the master')
  })

  it('downloads through the relay and continues on new connections when the relay limit cuts them', async () => {
    await hidden.reachabilitySettled(10_000)
    await waitFor(async () => (await client.master!.peerAddrs(hidden.node.peerId)).some(a => a.toString().includes('/p2p-circuit')), 10_000, 'relayed address at the master')
    const out = join(dir.path, 'out-relayed')
    const events: any[] = []
    const result = await client.get('relayed.bin', { out, onEvent: e => events.push(e) })
    assert.ok(await sameFile(result.path, join(shareHidden, 'relayed.bin')))
    assert.equal(result.providers.length, 1)
    assert.equal(result.providers[0].peer, hidden.peerId)
    assert.equal(result.providers[0].path, 'relayed')
    assert.equal(result.providers[0].bytes, 10 * MiB + 5, 'every chunk counted once: none fetched twice')
    assert.equal(result.providers[0].relayedBytes, 10 * MiB + 5)
    assert.equal(events.filter(e => e.event === 'provider-dropped').length, 0, 'the provider was re-dialled, not dropped')
    const progress = events.filter(e => e.event === 'progress' && e.providers.length > 0)
    assert.ok(progress.every(e => e.providers[0].path === 'relayed'))
  })

  it('fetches from a public peer over a direct connection', async () => {
    const out = join(dir.path, 'out-direct')
    const result = await client.get('direct.bin', { out })
    assert.equal(result.providers[0].path, 'direct')
    assert.equal(result.providers[0].relayedBytes, 0)
  })

  it('moves a relayed download to a direct connection when the downloader can be dialled back', async () => {
    // this client listens: the hidden provider reaches it directly after identify on the relayed connection
    const listening = await startPeer(master)
    try {
      const out = join(dir.path, 'out-upgrade')
      const result = await listening.get('relayed.bin', { out })
      assert.ok(await sameFile(result.path, join(shareHidden, 'relayed.bin')))
      assert.equal(result.providers[0].path, 'direct', JSON.stringify(result.providers))
    } finally {
      await listening.stop()
    }
  })

  it('dials back only addresses at the IP the request comes from', async () => {
    const { createServer } = await import('node:net')
    const { multiaddr } = await import('@multiformats/multiaddr')
    let accepted = 0
    const server = createServer(socket => { accepted++; socket.destroy() })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.2', resolve))
    try {
      const port = (server.address() as any).port
      const answer = await client.master!.dialBack([multiaddr(`/ip4/127.0.0.2/tcp/${port}`)])
      assert.deepEqual(answer.reachable, [])
      assert.equal(accepted, 0, 'the master never dials a host other than the requester')
      assert.equal(answer.observed?.toString().startsWith('/ip4/127.0.0.1/tcp/'), true)
    } finally {
      server.close()
    }
  })

  it('starts a sharing peer whose master is away, and reports it unknown instead of failing', async () => {
    const gone = await startMaster(join(dir.path, 'gone'))
    const addr = gone.addrs()[0]
    await gone.stop()
    const lonely = await startPeer(addr, { share: shareHidden })
    try {
      const state = await lonely.reachabilitySettled(10_000)
      assert.equal(state.reachability, 'unknown')
      assert.equal(lonely.registered(), false)
    } finally {
      await lonely.stop()
    }
  })

  it('refuses relay reservations from peers that do not speak FileShare', async () => {
    const { createNode } = await import('../../src/node/create-node.js')
    const { multiaddr } = await import('@multiformats/multiaddr')
    const stranger = await createNode({ listen: [], relayTransport: true })
    try {
      const tm = (stranger as any).components.transportManager
      await tm.listen([multiaddr(`${master.addrs()[0]}/p2p-circuit`)])
      assert.deepEqual(stranger.getMultiaddrs().map(String).filter(a => a.includes('p2p-circuit')), [])
    } finally {
      await stranger.stop()
    }
  })
})
