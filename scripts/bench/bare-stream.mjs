#!/usr/bin/env node
// The baseline of scripts/bench/single-source: a bare libp2p stream (tcp + noise + yamux,
// the stack FileShare uses) moving a file from disk to disk, no protocol, no verification.
//   node bare-stream.mjs receive OUT_FILE       prints {"event":"ready","addr"} then {"event":"done","bytes","seconds"}
//   node bare-stream.mjs send FILE ADDR         sends FILE on one stream to ADDR, exits when sent
// Sender: fs.readSync into a fresh 1 MiB buffer per send() and a wait for 'drain' when the
// write buffer is full. Receiver: 'message' events, each part written with fs.writeSync
// (the fast receive path of LIBP2P-V3.md). Timed on the receiver: stream opened → last byte
// written and fsync'ed.
import '../../dist/node/polyfill.js'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { openSync, readSync, writeSync, fsyncSync, closeSync, fstatSync } from 'node:fs'

const PROTOCOL = '/fileshare-bench/bare/1.0.0'
const [role, file, addr] = process.argv.slice(2)
const node = await createLibp2p({
  addresses: { listen: role === 'receive' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: () => false }
})
const print = obj => process.stdout.write(JSON.stringify(obj) + '\n')

if (role === 'receive') {
  await node.handle(PROTOCOL, (stream) => {
    const started = performance.now()
    const fd = openSync(file, 'w')
    let pos = 0
    stream.addEventListener('message', (evt) => {
      const parts = evt.data instanceof Uint8Array ? [evt.data] : evt.data
      for (const part of parts) {
        let done = 0
        while (done < part.length) done += writeSync(fd, part, done, part.length - done, pos + done)
        pos += part.length
      }
    })
    stream.addEventListener('remoteCloseWrite', () => {
      fsyncSync(fd)
      closeSync(fd)
      print({ event: 'done', bytes: pos, seconds: (performance.now() - started) / 1000, endedAt: performance.timeOrigin + performance.now() })
      void stream.close().catch(() => {}).finally(() => node.stop().then(() => process.exit(0)))
    })
  })
  print({ event: 'ready', addr: node.getMultiaddrs()[0].toString() })
} else if (role === 'send') {
  // the dial is part of the measured time, as it is in a get's done.seconds
  print({ event: 'dialing', at: performance.timeOrigin + performance.now() })
  const stream = await node.dialProtocol(multiaddr(addr), PROTOCOL)
  const fd = openSync(file, 'r')
  const size = fstatSync(fd).size
  let pos = 0
  while (pos < size) {
    // a fresh buffer every time: send() keeps a reference until it is written
    const buf = Buffer.allocUnsafe(Math.min(1 << 20, size - pos))
    const n = readSync(fd, buf, 0, buf.length, pos)
    pos += n
    if (!stream.send(n === buf.length ? buf : buf.subarray(0, n))) {
      await new Promise((resolve, reject) => {
        const onDrain = () => { stream.removeEventListener('close', onClose); resolve() }
        const onClose = () => { stream.removeEventListener('drain', onDrain); reject(new Error('stream closed')) }
        stream.addEventListener('drain', onDrain, { once: true })
        stream.addEventListener('close', onClose, { once: true })
      })
    }
  }
  closeSync(fd)
  await stream.close()
  // wait for the receiver to close its side (it has written everything by then)
  await new Promise(resolve => {
    if (stream.status !== 'open') resolve()
    stream.addEventListener('close', resolve, { once: true })
    setTimeout(resolve, 30_000).unref()
  })
  await node.stop()
  process.exit(0)
} else {
  process.stderr.write('usage: bare-stream.mjs receive OUT | send FILE ADDR\n')
  process.exit(2)
}
