/**
 * Metrics through a relay, in process: the master counts the bytes it relays, and its
 * dashboard API, history and /metrics show the relayed peer and its reservation.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import { enablePrometheus, type PrometheusMetrics } from '../../src/metrics/prometheus.js'
import { startMasterWeb, type MasterWeb } from '../../src/web/master-web.js'
import { parseListenAddress } from '../../src/web/http.js'
import type { Master, Peer } from '../../src/index.js'

const SIZE = 3 * 1024 * 1024 + 17

describe('metrics of a relayed download (in process)', { timeout: 60_000 }, () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let sink: PrometheusMetrics
  let master: Master
  let hidden: Peer
  let client: Peer
  let web: MasterWeb

  before(async () => {
    sink = enablePrometheus('master') // before the nodes: libp2p takes its metrics at creation
    dir = await tempDir('fileshare-metrics-')
    await mkdir(join(dir.path, 'hidden'))
    await writeRandomFile(join(dir.path, 'hidden/relayed.bin'), SIZE)
    master = await startMaster(dir.path)
    hidden = await startPeer(master, { share: join(dir.path, 'hidden'), listen: [] })
    // a client that does not serve while it downloads (no swarming): the master sees one live peer
    client = await startPeer(master, { listen: [], upload: false })
    web = await startMasterWeb(master, { listen: parseListenAddress('127.0.0.1:0', 0), historyStepMs: 500 })
    assert.equal((await hidden.reachabilitySettled(10_000)).reachability, 'relayed')
    await waitFor(async () => (await client.master!.peerAddrs(hidden.node.peerId)).some(a => a.toString().includes('/p2p-circuit')), 10_000, 'relayed address')
  })

  after(async () => {
    await web?.close()
    await client?.stop()
    await hidden?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('counts relayed bytes and shows the relayed peer on the dashboard', async () => {
    const result = await client.get('relayed.bin', { out: join(dir.path, 'out') })
    assert.equal(result.providers[0].path, 'relayed')
    assert.ok(sink.totals.relayedBytes >= SIZE, `relayed ${sink.totals.relayedBytes}`)
    const get = async (path: string): Promise<Response> => await fetch(new URL(path, web.server.url), { headers: { Authorization: `Bearer ${web.server.token}` } })
    const overview: any = await (await get('/api/overview')).json()
    assert.equal(overview.peers.live, 1)
    assert.equal(overview.peers.relayed, 1)
    assert.equal(overview.relay.reservations, 1)
    assert.ok(overview.totals.relayedBytes >= SIZE)
    const peers: any = await (await get('/api/peers')).json()
    assert.deepEqual(peers.peers.map((p: any) => [p.peer, p.path, p.files]), [[hidden.peerId, 'relayed', 1]])
    const text = await (await get('/metrics')).text()
    assert.match(text, /^fileshare_live_peers\{path="relayed"\} 1$/m)
    assert.match(text, /^fileshare_relay_reservations 1$/m)
    const relayed = Number(text.match(/^fileshare_relayed_bytes_total (\d+)$/m)?.[1])
    assert.ok(relayed >= SIZE, `fileshare_relayed_bytes_total ${relayed}`)
    await waitFor(async () => {
      const h: any = await (await get('/api/history')).json()
      return h.series.relayedBytes.some((v: number) => v > 0) && h.series.relayedPeers.at(-1) === 1
    }, 5000, 'the history shows the relayed bytes')
  })
})
