/**
 * Issue 10, item 1: Sybil providers cannot hide a file. 200 fresh keys, chosen to sort
 * before the honest provider's PeerId, register the honest file's content id and stay
 * connected with no reachable address; then 50 more that listen on 127.0.0.1 (the same
 * tier as the honest peer: an address at the IP the master sees them at) but answer every
 * fetch with NOT_FOUND. `get <id>` still succeeds, within 15 s: the master's answer is a
 * varied sample, and the downloader asks again excluding the providers that failed.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor, sameFile } from '../helpers/swarm.js'
import { attacker, keysSortingBefore, highKey, registerAs, inBatches, type Attacker } from '../helpers/attackers.js'
import type { Master, Peer } from '../../src/index.js'
import { fetchServer } from '../../src/protocols/fetch/index.js'
import { Catalog } from '../../src/peer/catalog.js'
import { createNode, type FileShareNode } from '../../src/node/create-node.js'
import { hashFile } from '../../src/content/hash-file.js'
import { formatContentId } from '../../src/content/content-id.js'
import { KEY_FILE } from '../../src/node/key-store.js'

const SIZE = 300_000

describe('hostile Sybil providers: a file cannot be hidden', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let honest: Peer
  let client: Peer
  let idText: string
  let id: Uint8Array
  const fakes: Array<Attacker | FileShareNode> = []

  before(async () => {
    dir = await tempDir()
    const share = join(dir.path, 'share')
    await mkdir(share)
    await writeRandomFile(join(share, 'wanted.bin'), SIZE)
    const hashed = await hashFile(join(share, 'wanted.bin'))
    id = hashed.id
    idText = formatContentId(id)
    // the honest peer's key sorts late: Sybil keys can sort before it, as in the attack
    const key = await highKey()
    const honestData = join(dir.path, 'honest-data')
    await mkdir(honestData, { recursive: true })
    await writeFile(join(honestData, KEY_FILE), privateKeyToProtobuf(key), { mode: 0o600 })
    // the first 200 fakes leave after their test; their records stay live (the grace) through
    // the next one, which can take minutes on a loaded machine
    master = await startMaster(dir.path, { connectionsPerIpPerSecond: 10_000, providerGraceMs: 600_000 })
    honest = await startPeer(master, { share, data: honestData, settleMs: 0, reachability: 'public' })
    await waitFor(() => honest.registered(), 15_000, 'honest registration')
    client = await startPeer(master, { listen: [] })
  })

  after(async () => {
    await Promise.all(fakes.map(async f => { await Promise.resolve(f.stop()).catch(() => {}) }))
    await client?.stop()
    await honest?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('200 fake providers with no address, sorting first: get still succeeds in under 15 s', async () => {
    const keys = await keysSortingBefore(honest.peerId, 200)
    await inBatches(keys, 10, async key => {
      const node = await attacker({ privateKey: key })
      fakes.push(node)
      await registerAs(node, master.addrs()[0], [{ id, path: 'wanted.bin', size: SIZE }])
    })
    // the index lists 201 live providers; in PeerId order the honest one comes last
    const sorted = master.index.providers(id, 1000).map(p => p.peer).sort()
    assert.equal(sorted.length, 201)
    assert.equal(sorted[200], honest.peerId)

    // the master's sample puts the provider with an address it observed first
    const { providers } = await client.master!.providers(id)
    assert.ok(providers.length <= 20, 'a bounded sample')
    assert.equal(providers[0].peer.toString(), honest.peerId, 'the honest provider ranks first')

    const started = Date.now()
    const result = await client.get(idText, { out: join(dir.path, 'out1') })
    const seconds = (Date.now() - started) / 1000
    console.log(`# get with 200 Sybil providers (no address): ${seconds.toFixed(2)} s`)
    assert.ok(await sameFile(result.path, join(dir.path, 'share', 'wanted.bin')))
    assert.ok(seconds < 15, `get took ${seconds} s`)
    // they leave (their records stay live for the grace): this process has enough nodes to run
    await Promise.all(fakes.splice(0).map(async f => { await Promise.resolve(f.stop()).catch(() => {}) }))
  })

  it('50 more that listen and answer NOT_FOUND (same tier as the honest one): get asks again, excluding them', async () => {
    const keys = await keysSortingBefore(honest.peerId, 50)
    await inBatches(keys, 5, async key => {
      const node = await createNode({
        privateKey: key,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        services: { fetch: fetchServer({ catalog: new Catalog(), serving: true }) }
      })
      fakes.push(node)
      await registerAs(node as any, master.addrs()[0], [{ id, path: 'wanted.bin', size: SIZE }])
    })
    await waitFor(() => master.index.providers(id, 1000).length === 251, 15_000, '251 providers')
    // identify has told the master the listening fakes' addresses
    await new Promise(resolve => setTimeout(resolve, 1000))

    const started = Date.now()
    const result = await client.get(idText, { out: join(dir.path, 'out2') })
    const seconds = (Date.now() - started) / 1000
    console.log(`# get with 250 Sybil providers (50 answering NOT_FOUND): ${seconds.toFixed(2)} s`)
    assert.ok(await sameFile(result.path, join(dir.path, 'share', 'wanted.bin')))
    assert.ok(seconds < 15, `get took ${seconds} s`)
  })

  it('a lookup excludes the providers the asker names (how get asks again)', async () => {
    const first = (await client.master!.providers(id)).providers.map(p => p.peer)
    const second = (await client.master!.providers(id, first)).providers.map(p => p.peer.toString())
    assert.ok(second.length > 0)
    for (const p of first) assert.ok(!second.includes(p.toString()), 'an excluded provider came back')
  })

  it('every answer is a sample: over a few lookups the fakes are spread, not the same first 20', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 5; i++) {
      for (const p of (await client.master!.providers(id)).providers) seen.add(p.peer.toString())
    }
    assert.ok(seen.size > 30, `${seen.size} distinct providers over 5 lookups`)
  })
})
