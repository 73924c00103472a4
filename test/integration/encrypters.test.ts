/**
 * TCP connection encrypters (node/create-node.ts, node/lazy-tls.ts): noise and TLS are both
 * offered, the dialler's order of preference wins where both sides speak both, and TLS —
 * loaded only when a connection negotiates it — works on its own.
 */
import { describe, it, after } from 'node:test'
import assert from 'node:assert/strict'
import { createNode, type FileShareNode } from '../../src/node/create-node.js'

describe('connection encrypters', () => {
  const nodes: FileShareNode[] = []
  after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

  async function node (encrypters: Array<'tls' | 'noise'>): Promise<FileShareNode> {
    const n = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], transports: ['tcp'], encrypters })
    nodes.push(n)
    return n
  }

  async function negotiated (from: FileShareNode, to: FileShareNode): Promise<string | undefined> {
    const connection = await from.dial(to.getMultiaddrs()[0])
    const encryption = connection.encryption
    await connection.close()
    return encryption
  }

  it('uses the dialler’s first choice that the listener speaks', async () => {
    const both = await node(['noise', 'tls'])
    const tlsFirst = await node(['tls', 'noise'])
    const tlsOnly = await node(['tls'])
    const noiseOnly = await node(['noise'])
    assert.equal(await negotiated(tlsFirst, both), '/tls/1.0.0')
    assert.equal(await negotiated(both, tlsFirst), '/noise')
    assert.equal(await negotiated(tlsOnly, both), '/tls/1.0.0', 'a TLS-only node reaches a default one')
    assert.equal(await negotiated(noiseOnly, tlsFirst), '/noise', 'a noise-only node reaches a TLS-first one')
    assert.equal(await negotiated(tlsOnly, tlsFirst), '/tls/1.0.0')
    await assert.rejects(negotiated(tlsOnly, noiseOnly), 'no encrypter in common: no connection')
  })
})
