/**
 * Issue 10, item 10: addresses in lookups are not a weapon. Fake providers announce (in
 * identify) 20 addresses each of a third host (TCP listeners on 127.0.0.3 counting the
 * connections they get) and register the file an honest peer shares. The master lists
 * only addresses it observed (at the IP the provider's connection comes from) or verified
 * by dial-back, at most 4 per provider, so a get makes no connection to the third host;
 * and a provider given 20 addresses directly is dialled at at most 4 of them.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import { attacker, registerAs, type Attacker } from '../helpers/attackers.js'
import type { Master, Peer } from '../../src/index.js'
import { hashFile } from '../../src/content/hash-file.js'
import { formatContentId } from '../../src/content/content-id.js'
import { openFetchStream } from '../../src/peer/download/dial.js'
import { MAX_ADDRS_RETURNED } from '../../src/protocols/lookup/constants.js'
import { MAX_DIALS_PER_PROVIDER } from '../../src/peer/download/tuning.js'

const THIRD_HOST = '127.0.0.3'

describe('hostile addresses: lookups do not aim downloaders at a third host', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let honest: Peer
  let client: Peer
  const servers: Server[] = []
  const victimAddrs: string[] = []
  let hits = 0
  const fakes: Attacker[] = []
  let id: Uint8Array

  before(async () => {
    dir = await tempDir()
    // the "third host": 20 TCP ports that count (and drop) every connection
    for (let i = 0; i < 20; i++) {
      const server = createServer((socket: Socket) => { hits++; socket.destroy() })
      await new Promise<void>(resolve => server.listen(0, THIRD_HOST, resolve))
      servers.push(server)
      victimAddrs.push(`/ip4/${THIRD_HOST}/tcp/${(server.address() as any).port}`)
    }
    const share = join(dir.path, 'share')
    await mkdir(share)
    await writeRandomFile(join(share, 'target.bin'), 200_000)
    id = (await hashFile(join(share, 'target.bin'))).id
    master = await startMaster(dir.path)
    honest = await startPeer(master, { share, settleMs: 0 })
    client = await startPeer(master, { listen: [] })
    await waitFor(() => honest.registered(), 15_000, 'registration')
    for (let i = 0; i < 5; i++) {
      // listens on 127.0.0.1 (so identify carries something) but announces the third host's addresses
      const fake = await attacker({ listen: ['/ip4/127.0.0.1/tcp/0'], announce: victimAddrs })
      fakes.push(fake)
      await registerAs(fake, master.addrs()[0], [{ id, path: 'target.bin', size: 200_000 }])
    }
    // identify has carried the announced addresses to the master
    await waitFor(async () => {
      const stored = await master.node.peerStore.get(fakes[0].peerId).catch(() => null)
      return stored?.addresses.some(a => a.multiaddr.toString().includes(THIRD_HOST)) === true
    }, 10_000, 'the master heard the fake addresses')
  })

  after(async () => {
    for (const f of fakes) await f.stop()
    await client?.stop()
    await honest?.stop()
    await master?.stop()
    for (const s of servers) s.close()
    await dir?.cleanup()
  })

  it('a lookup lists only observed or verified addresses, at most a few per provider', async () => {
    const { providers } = await client.master!.providers(id)
    assert.equal(providers.length, 6)
    for (const p of providers) {
      const own = p.addrs.filter(a => !a.toString().includes('/p2p-circuit'))
      assert.ok(own.length <= MAX_ADDRS_RETURNED, `${own.length} addresses`)
      for (const a of own) assert.ok(!a.toString().includes(THIRD_HOST), `${a.toString()} is a third host`)
    }
    const peerAddrs = await client.master!.peerAddrs(fakes[0].peerId)
    assert.ok(peerAddrs.every(a => !a.toString().includes(THIRD_HOST)))
  })

  it('a get makes no connection to the third host', async () => {
    const result = await client.get(formatContentId(id), { out: join(dir.path, 'out') })
    assert.equal(result.bytes, 200_000)
    await new Promise(resolve => setTimeout(resolve, 500))
    assert.equal(hits, 0, 'connections made to the third host')
  })

  it(`a provider handed 20 addresses is dialled at most ${MAX_DIALS_PER_PROVIDER} times`, async () => {
    const before = hits
    const lone = await attacker()
    try {
      await assert.rejects(openFetchStream(client.node, { peer: lone.peerId, addrs: victimAddrs.map(a => multiaddr(a)) }, AbortSignal.timeout(20_000)))
      await new Promise(resolve => setTimeout(resolve, 500))
      const made = hits - before
      console.log(`# dials to the third host for one provider with 20 addresses: ${made}`)
      assert.ok(made <= MAX_DIALS_PER_PROVIDER, `${made} connections`)
    } finally {
      await lone.stop()
    }
  })
})
