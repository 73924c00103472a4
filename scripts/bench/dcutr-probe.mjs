#!/usr/bin/env node
// One side of the DCUtR trace (scripts/bench/dcutr-trace.mjs), run inside a NAT-lab namespace:
// a bare js-libp2p node with TCP + QUIC (@chainsafe/libp2p-quic), noise, yamux, identify,
// the circuit relay transport and @libp2p/dcutr, and *without* FileShare's punch service.
//
//   node dcutr-probe.mjs --role relay --listen /ip4/M/udp/P/quic-v1
//   node dcutr-probe.mjs --relay /ip4/M/udp/P/quic-v1/p2p/ID --role listen|dial [--target CIRCUIT_ADDR]
//                        [--feed] [--wait 40]
//
// It connects to the relay over QUIC only, so that identify's observed address is the NAT's
// mapping of this node's QUIC *dial* socket. --feed confirms that address in the address
// manager (as if AutoNAT had verified it), so DCUtR sends it in its CONNECT message (js DCUtR
// sends addressManager.getAddresses(): verified addresses only). --role listen reserves a
// slot on the relay and prints its circuit address; --role dial dials --target through the
// relay and waits --wait s for a direct connection to it. JSON lines on stdout.
import '../../dist/node/polyfill.js' // Promise.withResolvers on Node 20, as in the product
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { quic } from '@chainsafe/libp2p-quic'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { dcutr } from '@libp2p/dcutr'
import { circuitRelayTransport, circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { multiaddr } from '@multiformats/multiaddr'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    relay: { type: 'string' },
    listen: { type: 'string' },
    role: { type: 'string' },
    target: { type: 'string' },
    feed: { type: 'boolean' },
    wait: { type: 'string', default: '40' }
  }
})
const out = obj => console.log(JSON.stringify({ ...obj, t: Date.now() }))
const isCircuit = ma => ma.toString().includes('/p2p-circuit')

/** gives the probe the address manager (not on the public Libp2p API) */
const addressManagerTap = () => (components) => ({ addressManager: components.addressManager })

if (values.role === 'relay') {
  // a plain circuit relay v2 server (the FileShare master gives slots to registered sharing peers only)
  const relayNode = await createLibp2p({
    addresses: { listen: [values.listen] },
    transports: [quic()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), relay: circuitRelayServer() }
  })
  // a public IP is announced only once verified: give the listen address as it is
  out({ event: 'ready', addrs: [`${values.listen}/p2p/${relayNode.peerId}`] })
  process.on('SIGTERM', () => { void relayNode.stop().finally(() => process.exit(0)) })
  setTimeout(() => process.exit(0), 600_000).unref()
  await new Promise(() => {})
}

const node = await createLibp2p({
  addresses: { listen: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/udp/0/quic-v1', ...(values.role === 'listen' ? ['/p2p-circuit'] : [])] },
  transports: [tcp(), quic(), circuitRelayTransport()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: () => false },
  services: { identify: identify(), dcutr: dcutr(), tap: addressManagerTap() }
})
const relay = multiaddr(values.relay)
const relayId = relay.getComponents().find(c => c.name === 'p2p')?.value

node.addEventListener('peer:identify', evt => {
  const { peerId, observedAddr, connection } = evt.detail
  if (peerId.toString() !== relayId || observedAddr == null) return
  out({ event: 'observed', by: 'relay', over: connection.remoteAddr.toString(), observedAddr: observedAddr.toString() })
  if (values.feed === true && observedAddr.toString().includes('/quic-v1')) {
    node.services.tap.addressManager.addObservedAddr(observedAddr)
    node.services.tap.addressManager.confirmObservedAddr(observedAddr, { type: 'observed' })
    out({ event: 'fed', addr: observedAddr.toString(), addresses: node.getMultiaddrs().map(String) })
  }
})
node.addEventListener('connection:open', evt => {
  const c = evt.detail
  out({ event: 'connection:open', peer: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), direction: c.direction })
})
node.addEventListener('connection:close', evt => {
  const c = evt.detail
  out({ event: 'connection:close', peer: c.remotePeer.toString(), remoteAddr: c.remoteAddr.toString(), direction: c.direction })
})
process.on('SIGTERM', () => { void node.stop().finally(() => process.exit(0)) })

out({ event: 'listening', peerId: node.peerId.toString(), listen: node.getMultiaddrs().map(String) })
await node.dial(relay, { signal: AbortSignal.timeout(10_000) })

if (values.role === 'listen') {
  const deadline = Date.now() + 20_000
  let circuit
  while (circuit == null && Date.now() < deadline) {
    circuit = node.getMultiaddrs().find(isCircuit)
    if (circuit == null) await new Promise(resolve => setTimeout(resolve, 200))
  }
  if (circuit == null) { out({ event: 'error', error: 'no relay reservation' }); process.exit(1) }
  out({ event: 'reserved', circuit: circuit.toString(), addresses: node.getMultiaddrs().map(String) })
  // stay until the trace stops us
  setTimeout(() => process.exit(0), Number(values.wait) * 1000 + 30_000).unref()
  await new Promise(() => {})
} else {
  const target = multiaddr(values.target)
  const targetId = target.getComponents().filter(c => c.name === 'p2p').at(-1)?.value
  // let identify with the relay run (and --feed confirm our address) before the relayed dial
  await new Promise(resolve => setTimeout(resolve, 2000))
  out({ event: 'addresses', addresses: node.getMultiaddrs().map(String) })
  const relayed = await node.dial(target, { signal: AbortSignal.timeout(10_000) })
  out({ event: 'relayed', remoteAddr: relayed.remoteAddr.toString() })
  const deadline = Date.now() + Number(values.wait) * 1000
  let direct
  while (direct == null && Date.now() < deadline) {
    direct = node.getConnections().find(c => c.remotePeer.toString() === targetId && !isCircuit(c.remoteAddr))
    if (direct == null) await new Promise(resolve => setTimeout(resolve, 250))
  }
  out({ event: 'result', direct: direct != null, remoteAddr: direct?.remoteAddr.toString() ?? null })
  await node.stop()
  process.exit(0)
}
