// The protocol servers are libp2p services: built here from small stand-in components (no
// node, no network), started, driven over an in-memory stream pair, and stopped.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { defaultLogger } from '@libp2p/logger'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId, StreamHandler } from '@libp2p/interface'
import '../../src/node/polyfill.js'
import { lookupServer, PROTOCOL_LOOKUP, type LookupStore } from '../../src/protocols/lookup/index.js'
import { LookupRequest, LookupResponse } from '../../src/protocols/lookup/pb/lookup.js'
import { exchange } from '../../src/protocols/stream-io.js'
import type { ProtocolRegistrar } from '../../src/protocols/components.js'

async function newPeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A registrar that keeps the handlers it is given. */
function standInRegistrar (): ProtocolRegistrar & { handlers: Map<string, StreamHandler> } {
  const handlers = new Map<string, StreamHandler>()
  return {
    handlers,
    handle: async (protocol, handler) => { handlers.set(protocol, handler) },
    unhandle: async (protocol) => { handlers.delete(protocol) }
  }
}

describe('protocol servers as libp2p services', () => {
  it('the lookup server registers on start, answers from its store with relay addresses first, unregisters on stop', async () => {
    const provider = await newPeerId()
    const asker = await newPeerId()
    const id = new Uint8Array(32).fill(7)
    const store: LookupStore = {
      providers: (wanted) => wanted.every((b, i) => b === id[i]) ? [{ peer: provider.toString() }] : [],
      describe: () => ({ id, name: 'a.bin', path: 'x/a.bin', size: 5, providers: 1 }),
      search: () => [],
      findByName: () => []
    }
    const registrar = standInRegistrar()
    const direct = multiaddr('/ip4/192.0.2.7/tcp/4001')
    const service = lookupServer({ store, limiter: { consume: () => {} } })({
      registrar,
      logger: defaultLogger(),
      peerStore: { get: async () => ({ addresses: [{ multiaddr: direct, isCertified: false }] }) as any },
      addressManager: { getAddresses: () => [multiaddr('/ip4/198.51.100.1/tcp/9000')] },
      relay: { reservations: { has: (peer: PeerId) => peer.equals(provider) } },
      // the master sees the provider connected from the IP of its stored address: the address is listed
      connectionManager: {
        getConnections: (peer?: PeerId) => peer?.equals(provider) === true
          ? [{ status: 'open', remoteAddr: multiaddr('/ip4/192.0.2.7/tcp/53211') } as unknown as Connection]
          : []
      }
    })

    await service.start()
    const handler = registrar.handlers.get(PROTOCOL_LOOKUP)
    assert.ok(handler != null, 'start() registered the handler')

    const [outbound, inbound] = await streamPair()
    const served = handler(inbound, { remotePeer: asker } as unknown as Connection)
    const res = await exchange(outbound, { kind: LookupRequest.Kind.PROVIDERS, id, query: '', peer: new Uint8Array(0), limit: 0, exclude: [] },
      LookupRequest, LookupResponse, { signal: AbortSignal.timeout(5000) })
    await served
    assert.equal(res.status, LookupResponse.Status.OK)
    assert.equal(res.hits[0]?.name, 'a.bin')
    const addrs = res.providers[0].addrs.map(a => multiaddr(a).toString())
    assert.deepEqual(addrs, ['/ip4/198.51.100.1/tcp/9000/p2p-circuit', direct.toString()])

    await service.stop()
    assert.equal(registrar.handlers.size, 0, 'stop() unregistered the handler')
  })

  it('a lookup over budget gets RATE_LIMITED from the limiter it was given', async () => {
    const service = lookupServer({
      store: { providers: () => [], describe: () => undefined, search: () => [], findByName: () => [] },
      limiter: { consume: () => { throw new Error('over budget') } }
    })({
      registrar: standInRegistrar(),
      logger: defaultLogger(),
      peerStore: { get: async () => { throw new Error('unknown') } },
      addressManager: { getAddresses: () => [] }
    })
    const res = await service.answer('someone', { kind: LookupRequest.Kind.SEARCH, id: new Uint8Array(0), query: 'x', peer: new Uint8Array(0), limit: 5, exclude: [] })
    assert.equal(res.status, LookupResponse.Status.RATE_LIMITED)
  })
})
