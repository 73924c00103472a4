#!/usr/bin/env node
// One FileShare downloader of scripts/bench/flash-crowd.mjs: the library's get with --seed
// semantics, started only on "go" (a line on stdin), so that the crowd's downloads start at
// once and the measurement is not the start-up of N Node processes on a loaded machine.
// Before "ready" it connects to the master, as a peer that runs for a while is.
//
//   flash-crowd-node.mjs MASTER_MA LISTEN_MA OUT ID
// stdout: JSON lines: ready, then provider events (first chunk from a partial provider),
// done {seconds, bytes, partialBytes, uploadedBytes}. Seeds until stdin closes.
import { createPeer } from '../../dist/index.js'
import { multiaddr } from '@multiformats/multiaddr'
import { Socket } from 'node:net'

// TCP reads of this process (count and bytes) during the get: their mean size shows how
// finely the shaped links deliver data (each read costs a pass through noise and yamux)
const reads = { count: 0, bytes: 0, on: false }
const emit = Socket.prototype.emit
Socket.prototype.emit = function (name, data) {
  if (name === 'data' && reads.on) {
    reads.count++
    reads.bytes += data.length
  }
  return emit.apply(this, arguments)
}

const [masterAddr, listen, out, name] = process.argv.slice(2)
const print = e => process.stdout.write(JSON.stringify(e) + '\n')
// FC_TRACE=DIR: this process's stderr (with DEBUG=fileshare:*, the download's log) and one
// line per verified chunk (ms after "go", index, the PeerId it came from) go to DIR/<port>.*
const traceDir = process.env.FC_TRACE
const traceName = traceDir != null ? `${traceDir}/${listen.split('/')[2]}` : null
const chunkTrace = []
if (traceName != null) {
  const { appendFileSync } = await import('node:fs')
  process.stderr.write = (chunk) => { appendFileSync(`${traceName}.log`, `${t0 == null ? '-' : Date.now() - t0} ${chunk}`); return true }
}
let t0 = null
// FC_ENCRYPTERS=tls,noise: the downloaders' encrypter preference (the dialer's order decides)
const encrypters = process.env.FC_ENCRYPTERS != null ? process.env.FC_ENCRYPTERS.split(',') : undefined
const peer = await createPeer({ master: masterAddr, listen: [listen], data: null, encrypters, onWarning: message => { process.stderr.write(`warning: ${message}\n`) } })
await peer.node.dial(multiaddr(masterAddr)).catch(err => { process.stderr.write(`warning: master: ${err?.message ?? err}\n`) })
print({ event: 'ready', peerId: peer.peerId })
let go
const started = new Promise(resolve => { go = resolve })
let buffered = ''
process.stdin.on('data', d => {
  buffered += d
  if (buffered.includes('go\n')) go()
})
process.stdin.on('end', async () => { await peer.stop(); process.exit(0) })
await started
// FC_CPU_PROF=DIR: a CPU profile of this get (from "go" until done) is written into DIR
const profiler = process.env.FC_CPU_PROF != null ? await startProfile() : null
t0 = Date.now()
reads.on = true
const cpu0 = process.cpuUsage()
let firstPartial = null
let firstChunk = null
try {
  const result = await peer.get(name, {
    out,
    seed: true,
    onChunk: (index, from) => {
      firstChunk ??= (Date.now() - t0) / 1000
      if (traceName != null) chunkTrace.push([Date.now() - t0, index, from])
    },
    onEvent: e => {
      if (e.event === 'progress' && firstPartial == null && e.partialBytes > 0) {
        firstPartial = (Date.now() - t0) / 1000
      }
      if (e.event === 'provider-dropped') print({ event: 'provider-dropped', peer: e.peer, reason: e.reason })
    }
  })
  if (profiler != null) await profiler.stop()
  if (traceName != null) (await import('node:fs')).writeFileSync(`${traceName}.chunks.json`, JSON.stringify({ self: peer.peerId, chunks: chunkTrace }))
  print({ event: 'done', seconds: result.seconds, bytes: result.bytes, partialBytes: result.partialBytes, uploadedBytes: result.uploadedBytes, firstPartial, firstChunk, providers: result.providers.length, reads: reads.count, readBytes: reads.bytes, cpuSeconds: (({ user, system }) => (user + system) / 1e6)(process.cpuUsage(cpu0)) })
} catch (err) {
  print({ event: 'error', message: err?.message ?? String(err) })
  await peer.stop()
  process.exit(1)
}

async function startProfile () {
  const { Session } = await import('node:inspector/promises')
  const { writeFileSync } = await import('node:fs')
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  return {
    stop: async () => {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(`${process.env.FC_CPU_PROF}/${peer.peerId.slice(-6)}.cpuprofile`, JSON.stringify(profile))
    }
  }
}
