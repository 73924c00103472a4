/**
 * Transport helpers (node/addresses.ts) and the choice of connection for bulk data
 * (download/dial.ts): TCP before QUIC, anything direct before the relay.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection } from '@libp2p/interface'
import { transportOf, parseTransports, listenFor, isPlainDirect } from '../../src/node/addresses.js'
import { bestDirect, betterConnection } from '../../src/peer/download/dial.js'

const PEER = '12D3KooWEYJ4kdqcSuYyGWBPLbsVVep6ZtP23w9yHMSy2KXCqVTK'

function conn (addr: string, status = 'open'): Connection {
  return { remoteAddr: multiaddr(addr), status, remotePeer: { toString: () => PEER } } as unknown as Connection
}

describe('transports', () => {
  it('tells TCP, QUIC and relayed addresses apart', () => {
    assert.equal(transportOf('/ip4/1.2.3.4/tcp/4001'), 'tcp')
    assert.equal(transportOf(`/ip4/1.2.3.4/tcp/4001/p2p/${PEER}`), 'tcp')
    assert.equal(transportOf('/ip4/1.2.3.4/udp/4001/quic-v1'), 'quic')
    assert.equal(transportOf(`/ip4/1.2.3.4/udp/4001/quic-v1/p2p/${PEER}/p2p-circuit/p2p/${PEER}`), null)
    assert.ok(isPlainDirect(multiaddr('/ip4/1.2.3.4/udp/4001/quic-v1')))
    assert.ok(isPlainDirect(multiaddr('/ip4/1.2.3.4/tcp/4001')))
    assert.ok(!isPlainDirect(multiaddr('/ip4/1.2.3.4/udp/4001')))
  })

  it('parses --transport lists and drops the listen addresses of a transport that is off', () => {
    assert.deepEqual(parseTransports(['tcp,quic']), ['tcp', 'quic'])
    assert.deepEqual(parseTransports(['QUIC', 'quic']), ['quic'])
    assert.throws(() => parseTransports(['udp']), /unknown transport/)
    assert.throws(() => parseTransports([' , ']), /at least one/)
    const listen = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/udp/4001/quic-v1']
    assert.deepEqual(listenFor(listen, ['quic']), ['/ip4/0.0.0.0/udp/4001/quic-v1'])
    assert.deepEqual(listenFor(listen, ['tcp', 'quic']), listen)
  })

  it('bulk data: TCP before QUIC, direct before relayed', () => {
    const relayed = conn(`/ip4/1.2.3.4/tcp/4001/p2p/${PEER}/p2p-circuit/p2p/${PEER}`)
    const quic = conn('/ip4/5.6.7.8/udp/1234/quic-v1')
    const tcp = conn('/ip4/5.6.7.8/tcp/1234')
    assert.equal(bestDirect([relayed, quic, tcp]), tcp)
    assert.equal(bestDirect([relayed, quic]), quic)
    assert.equal(bestDirect([relayed]), null)
    assert.equal(bestDirect([conn('/ip4/5.6.7.8/tcp/1', 'closing'), quic]), quic)
    const node = (list: Connection[]): any => ({ getConnections: () => list })
    assert.equal(betterConnection(node([relayed, quic]), relayed), quic, 'off the relay')
    assert.equal(betterConnection(node([quic, tcp]), quic), tcp, 'off QUIC to TCP')
    assert.equal(betterConnection(node([quic, tcp]), tcp), null, 'TCP stays')
    assert.equal(betterConnection(node([relayed]), relayed), null, 'nothing better')
  })
})
