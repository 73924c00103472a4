/**
 * libp2p's connection monitor cuts a connection whose ping gets no answer within its
 * adaptive timeout; on a full uplink pings wait behind the chunks queued on the connection,
 * so the floor of that timeout is raised (create-node.ts, CONNECTION_PING_TIMEOUT_MS).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createNode, CONNECTION_PING_TIMEOUT_MS } from '../../src/node/create-node.js'

describe('connection monitor', () => {
  it('a node pings its connections with a timeout of at least CONNECTION_PING_TIMEOUT_MS', async () => {
    const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], transports: ['tcp'] })
    try {
      const monitor = (node as any).components.connectionMonitor
      assert.ok(monitor != null, 'the connection monitor runs')
      assert.equal(monitor.timeout.minTimeout, CONNECTION_PING_TIMEOUT_MS)
      assert.ok(CONNECTION_PING_TIMEOUT_MS >= 30_000)
    } finally {
      await node.stop()
    }
  })
})
