/**
 * Liveness and restarts with real nodes: a provider that stops (cleanly or by SIGKILL)
 * stops being returned; one that comes back announces again without duplicates; a master
 * killed with SIGKILL and restarted on the same address and data gets its peers back
 * without restarting them, and serves nobody whose peer did not come back.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor } from '../helpers/swarm.js'
import { spawnNode, freePort, type ReadyProc } from '../helpers/processes.js'
import { createPeer, type Master, type Peer } from '../../src/index.js'
import { RegisterRequest } from '../../src/protocols/register/pb/register.js'
import { parseContentId } from '../../src/content/content-id.js'

async function providerCount (client: Peer, id: string): Promise<number> {
  return (await client.master!.providers(parseContentId(id))).providers.length
}

describe('liveness: providers come and go (in-process nodes)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let a: Peer | null = null
  let b: Peer
  let client: Peer
  const shareA = (): string => join(dir.path, 'share-a')

  before(async () => {
    dir = await tempDir()
    await mkdir(shareA())
    await mkdir(join(dir.path, 'share-b'))
    const common = await writeRandomFile(join(shareA(), 'common.bin'), 10_000)
    await writeFile(join(dir.path, 'share-b', 'common.bin'), common)
    await writeRandomFile(join(shareA(), 'only-a.bin'), 5_000)
    await writeRandomFile(join(dir.path, 'share-b', 'only-b.bin'), 5_000)
    master = await startMaster(dir.path, { providerGraceMs: 300 })
    a = await startPeer(master, { share: shareA(), data: join(dir.path, 'data-a'), settleMs: 50 })
    b = await startPeer(master, { share: join(dir.path, 'share-b'), settleMs: 50 })
    client = await startPeer(master)
    await waitFor(() => a!.registered() && b.registered(), 10_000, 'registration')
  })

  after(async () => {
    await client?.stop()
    await a?.stop()
    await b?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('a stopped peer is no longer returned; when it comes back it announces again without duplicates', async () => {
    const [common] = await client.search('common')
    assert.equal(common.providers, 2)
    assert.equal(await providerCount(client, common.id), 2)
    const peerA = a!.peerId
    assert.equal(master.index.fileCount(peerA), 2)

    await a!.stop()
    a = null
    await waitFor(async () => (await client.search('common'))[0]?.providers === 1, 10_000, 'provider gone')
    assert.equal(await providerCount(client, common.id), 1)
    assert.deepEqual(await client.search('only a'), [])
    await waitFor(() => master.index.isLive(peerA) === false, 10_000, 'peer marked not live after the grace')

    // same key (data folder), same folder: back with the same counts, nothing twice
    a = await startPeer(master, { share: shareA(), data: join(dir.path, 'data-a'), settleMs: 50 })
    assert.equal(a.peerId, peerA)
    await waitFor(() => a!.registered(), 10_000, 're-registration')
    assert.equal((await client.search('common'))[0].providers, 2)
    assert.equal((await client.search('only a')).length, 1)
    assert.equal(master.index.fileCount(peerA), 2)
    // announcing again (a reconnect) is idempotent
    await a.master!.register({ op: RegisterRequest.Op.RESET, files: [...a.catalog.files()], paths: [] })
    assert.equal(master.index.fileCount(peerA), 2)
    assert.equal((await client.search('common'))[0].providers, 2)
  })

  it('records of a vanished peer stay on disk but a mere connection with its key does not revive them', async () => {
    const peerA = a!.peerId
    // the node dies without withdrawing (like a crash): records stay, liveness ends after the grace
    await a!.node.stop()
    await waitFor(() => master.index.isLive(peerA) === false, 10_000, 'peer marked not live')
    assert.deepEqual(await client.search('only a'), [])
    assert.equal(master.index.fileCount(peerA), 2, 'records are kept for a cheap return')
    const sameKey = await createPeer({ master: master.addrs()[0], listen: [], data: join(dir.path, 'data-a') })
    try {
      assert.equal(sameKey.peerId, peerA)
      await sameKey.search('anything')
      assert.deepEqual(await client.search('only a'), [], 'connecting to search is not announcing')
      assert.equal((await client.search('common'))[0].providers, 1)
    } finally {
      await sameKey.stop()
    }
  })
})

describe('liveness and restarts with real processes (SIGKILL)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  const procs: ReadyProc[] = []
  let client: Peer | null = null
  let master: ReadyProc

  before(async () => {
    dir = await tempDir()
    await writeFile(join(dir.path, 'master.json'), JSON.stringify({ providerGraceMs: 300 }))
    for (const name of ['one', 'two']) {
      await mkdir(join(dir.path, `share-${name}`))
      for (let i = 0; i < 3; i++) await writeRandomFile(join(dir.path, `share-${name}`, `${name}-file-${i}.dat`), 2_000 + i)
    }
  })

  after(async () => {
    await client?.stop()
    for (const p of procs) await p.kill()
    await dir?.cleanup()
  })

  async function startMasterProc (port: number): Promise<ReadyProc> {
    const p = await spawnNode('master', ['--listen', `/ip4/127.0.0.1/tcp/${port}`, '--data', join(dir.path, 'master'), '--config', join(dir.path, 'master.json')])
    procs.push(p)
    return p
  }

  async function startPeerProc (name: string, masterAddr: string): Promise<ReadyProc> {
    const p = await spawnNode('peer', ['--share', join(dir.path, `share-${name}`), '--master', masterAddr,
      '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir.path, `data-${name}`)])
    procs.push(p)
    return p
  }

  const hits = async (word: string): Promise<number> => (await client!.search(word)).length

  it('a killed peer disappears after the grace; restarted, it is back with the same counts', async () => {
    const port = await freePort()
    master = await startMasterProc(port)
    const addr = master.ready.addrs[0] as string
    client = await createPeer({ master: addr, listen: [], data: null })
    const one = await startPeerProc('one', addr)
    await waitFor(async () => await hits('one') === 3, 15_000, 'peer one registered')

    await one.kill('SIGKILL')
    await waitFor(async () => await hits('one') === 0, 15_000, 'killed peer withdrawn')

    const again = await startPeerProc('one', addr)
    assert.equal(again.ready.peerId, one.ready.peerId)
    await waitFor(async () => await hits('one') === 3, 15_000, 'peer one back')
    const results = await client.search('one')
    assert.ok(results.every(r => r.providers === 1), 'no duplicate provider records')
  })

  it('after the master is SIGKILLed and restarted, peers register again by themselves; absent peers are not served', async () => {
    const addr = master.ready.addrs[0] as string
    const port = Number(addr.split('/')[4])
    const two = await startPeerProc('two', addr)
    await waitFor(async () => await hits('two') === 3 && await hits('one') === 3, 15_000, 'both peers registered')

    // the master dies hard, and so does peer two; peer one keeps running
    await master.kill('SIGKILL')
    await two.kill('SIGKILL')
    const restarted = await startMasterProc(port)
    assert.equal(restarted.ready.peerId, master.ready.peerId, 'same key from --data')

    await waitFor(async () => {
      try { return await hits('one') === 3 } catch { return false }
    }, 30_000, 'peer one re-registered with the restarted master')
    // peer two's records are still in the index file but its peer is not back: not live
    assert.equal(await hits('two'), 0)
    const results = await client!.search('one')
    assert.ok(results.every(r => r.providers === 1))
  })
})
