/**
 * Issue 10, item 6: idle connections cannot exhaust the master. An attacker (20 nodes in this
 * process, dialling from 127.0.0.2 so the per-IP cap can tell it from the real peers on
 * 127.0.0.1) opens 500 connections to the master (forced new dials, 25 per node from 20 nodes,
 * one after the other: libp2p joins concurrent dials to one peer) that never open a stream. The per-IP cap keeps it to its share, a real search still answers
 * while the connections are held, and the idle reaper closes them after idleConnectionMs;
 * the sharing peer's and the searcher's connections (a registration, a lookup) stay.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import { attacker, type Attacker } from '../helpers/attackers.js'
import type { Master, Peer } from '../../src/index.js'
import { MasterClient } from '../../src/peer/master-client.js'

const PER_IP = 50
/**
 * Long enough that the attacker reaches the cap before its first connections are closed as
 * idle (the cap's 50 connections open within a few seconds, even on a loaded machine), short
 * enough not to be waited out for long: the reaper closes them IDLE_MS to IDLE_MS + 5 s
 * after they opened. (On a loaded machine the 500 dials can outlast it: connections reaped
 * meanwhile make room for a few more, and the cap still holds at every moment.)
 */
const IDLE_MS = 12_000

describe('hostile idle connections: they cannot exhaust the master', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let searcher: Peer
  const flooders: Attacker[] = []

  before(async () => {
    dir = await tempDir()
    const share = join(dir.path, 'share')
    await mkdir(share)
    await writeRandomFile(join(share, 'findable.bin'), 5000)
    // maxConnections far below the attack: without the per-IP cap the attacker fills it
    master = await startMaster(dir.path, { maxConnections: 120, maxConnectionsPerIp: PER_IP, idleConnectionMs: IDLE_MS, connectionsPerIpPerSecond: 1000 })
    sharer = await startPeer(master, { share, settleMs: 0, reachability: 'public' })
    searcher = await startPeer(master, { listen: [] })
    await waitFor(() => sharer.registered(), 15_000, 'registration')
    for (let i = 0; i < 20; i++) flooders.push(await attacker({ from: '127.0.0.2', maxConnections: 2000 }))
  })

  after(async () => {
    for (const f of flooders) await f.stop()
    await searcher?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('500 idle connections from one attacker: capped per IP, a real search answers, the idle ones are closed', async () => {
    const target = multiaddr(master.addrs()[0])
    let opened = 0
    let refused = 0
    let peak = 0
    const started = Date.now()
    await Promise.all(flooders.map(async flooder => {
      for (let i = 0; i < 25; i++) {
        try {
          await flooder.dial(target, { force: true, signal: AbortSignal.timeout(20_000) } as any)
          opened++
        } catch {
          refused++
        }
        peak = Math.max(peak, master.connections.connectionsFrom('127.0.0.2'))
      }
    }))
    console.log(`# 500 forced dials in ${Date.now() - started} ms: ${opened} opened, ${refused} refused, peak ${peak} at the master from 127.0.0.2 (cap ${PER_IP})`)
    assert.ok(peak <= PER_IP, `peak ${peak}`)
    // at the cap, new connections are refused or take the place of the oldest unused ones
    assert.ok(opened + refused === 500)
    assert.ok(master.connections.refused + master.connections.evicted > 0, 'the per-IP cap refused or recycled connections')

    // the attacker holds its connections: a real search still answers
    const hits = await searcher.search('findable')
    assert.equal(hits.length, 1)

    // the reaper closes connections that did nothing within IDLE_MS
    await waitFor(() => master.connections.connectionsFrom('127.0.0.2') === 0, IDLE_MS * 2 + 20_000, 'idle connections closed')
    assert.ok(master.connections.reaped > 0)
    // the registered sharer and the searcher (a lookup) keep theirs
    assert.equal(master.index.isLive(sharer.peerId), true)
    assert.ok(master.node.getConnections(sharer.node.peerId).length > 0, 'the sharer is still connected')
    assert.ok(master.node.getConnections(searcher.node.peerId).length > 0, 'the searcher is still connected')
    assert.equal((await searcher.search('findable')).length, 1)
  })

  it('the cap does not lock out an honest key behind the same IP: an unused connection makes room', async () => {
    // the attacker fills its IP's cap again with connections that ask nothing (fresh nodes: the per-key cap holds each to a few)
    const target = multiaddr(master.addrs()[0])
    const more: Attacker[] = []
    try {
      for (let i = 0; i < 10; i++) more.push(await attacker({ from: '127.0.0.2', maxConnections: 2000 }))
      await Promise.all(more.map(async flooder => {
        for (let i = 0; i < 8; i++) await flooder.dial(target, { force: true, signal: AbortSignal.timeout(20_000) } as any).catch(() => {})
      }))
      await waitFor(() => master.connections.connectionsFrom('127.0.0.2') >= PER_IP, 20_000, 'the cap to fill')
      await new Promise(resolve => setTimeout(resolve, 1_500)) // older than the eviction age
      // an honest key on the same IP (a household member behind the attacker's NAT) looks up
      const honest = await attacker({ from: '127.0.0.2' })
      more.push(honest)
      const evicted = master.connections.evicted
      const hits = await new MasterClient(honest, target).search('findable')
      assert.equal(hits.length, 1, 'the honest key got in and was answered')
      assert.ok(master.connections.evicted > evicted, 'an unused connection was closed to make room')
      assert.ok(master.connections.connectionsFrom('127.0.0.2') <= PER_IP)
    } finally {
      for (const f of more) await f.stop()
    }
  })

  it('the limits are config keys with NAT-friendly defaults', async () => {
    const { DEFAULT_CONFIG_DIR } = await import('../../src/cli/config.js')
    const { readFileSync } = await import('node:fs')
    const config = JSON.parse(readFileSync(join(DEFAULT_CONFIG_DIR!, 'master.json'), 'utf8'))
    assert.ok(config.maxConnectionsPerIp >= 256, 'a household or a campus behind one NAT')
    assert.ok(config.connectionsPerIpPerSecond * 10 >= config.maxConnectionsPerIp, 'the rate fills the cap in seconds')
    assert.ok(config.idleConnectionMs >= 10_000)
  })
})
