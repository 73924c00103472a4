#!/usr/bin/env node
// Master under load: one dist/master.js process holding P connected peers (real libp2p
// nodes, spread over W worker processes) that registered F files in total through the
// register protocol; then the workers run lookups and searches concurrently and report
// latencies. Prints p50/p99 per kind, the master's RSS, and the populate time.
// usage: node scripts/bench/master-load.mjs [--peers 1000] [--files 1000000] [--workers 2]
//        [--duration 20] [--concurrency 16]
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { start as startProcess, percentile as pct, MASTER_JS } from './lib.mjs'

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '1000' },
    files: { type: 'string', default: '1000000' },
    workers: { type: 'string', default: '2' },
    duration: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' }
  }
})
const peers = Number(values.peers)
const files = Number(values.files)
const workers = Number(values.workers)
const dir = mkdtempSync(join(tmpdir(), 'fileshare-master-load-'))

/** `node ARGS`: its JSON lines (events and phases), a stdin for commands, its stderr shown */
const start = args => startProcess(args, { stdin: true, stderr: 'inherit' })

function rssMiB (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const get = key => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))[1]) / 1024
  return { rss: get('VmRSS'), hwm: get('VmHWM') }
}

try {
  // every peer of this bench comes from 127.0.0.1: the per-IP limits (issue 10) are lifted,
  // and peers waiting for their turn to register must not be closed as idle
  writeFileSync(join(dir, 'master.json'), JSON.stringify({
    maxConnections: peers + 500,
    maxFilesPerPeer: Math.ceil(files / peers) + 100,
    maxConnectionsPerIp: peers + 500,
    connectionsPerIpPerSecond: peers + 500,
    maxRecordsPerIp: files * 2,
    maxRecords: files * 2,
    idleConnectionMs: 0,
    requestsPerIpPerSecond: 1_000_000,
    requestBurstPerIp: 1_000_000
  }))
  const master = start([MASTER_JS, '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'master'), '--config', join(dir, 'master.json'), '--json'])
  const ready = await master.next('ready')
  const addr = ready.addrs[0]
  const base = rssMiB(master.child.pid)
  console.log(`master ${addr} (RSS ${base.rss.toFixed(0)} MiB empty)`)

  const perWorker = Math.ceil(peers / workers)
  const filesPerNode = Math.ceil(files / peers)
  const t0 = Date.now()
  const ws = Array.from({ length: workers }, (_, w) => start(['scripts/bench/master-load-peers.mjs', addr, String(w), String(Math.min(perWorker, peers - w * perWorker)), String(filesPerNode)]))
  const connected = await Promise.all(ws.map(w => w.next('connected')))
  console.log(`${connected.reduce((a, c) => a + c.nodes, 0)} peers connected in ${((Date.now() - t0) / 1000).toFixed(1)} s; master RSS ${rssMiB(master.child.pid).rss.toFixed(0)} MiB`)
  const registered = await Promise.all(ws.map(w => w.next('registered')))
  const populateS = (Date.now() - t0) / 1000
  const total = registered.reduce((a, r) => a + r.files, 0)
  console.log(`${total} files registered through the protocol in ${populateS.toFixed(1)} s; master RSS ${rssMiB(master.child.pid).rss.toFixed(0)} MiB`)
  await Promise.all(ws.map(w => w.next('ready')))

  let maxRss = 0
  const sampler = setInterval(() => { maxRss = Math.max(maxRss, rssMiB(master.child.pid).rss) }, 250)
  const durationMs = Number(values.duration) * 1000
  for (const w of ws) w.send({ cmd: 'measure', durationMs, concurrency: Number(values.concurrency) })
  const results = await Promise.all(ws.map(w => w.next('measured')))
  clearInterval(sampler)
  const lookup = results.flatMap(r => r.lookup)
  const search = results.flatMap(r => r.search)
  const lookupOne = results.flatMap(r => r.lookupOne)
  const lookupMany = results.flatMap(r => r.lookupMany)
  const errors = {}
  for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v
  const { rss, hwm } = rssMiB(master.child.pid)
  const sec = durationMs / 1000
  console.log('')
  console.log(`| peers | files | kind | requests | req/s | p50 ms | p99 ms |`)
  console.log(`|---|---|---|---|---|---|---|`)
  console.log(`| ${peers} | ${total} | lookup (providers) | ${lookup.length} | ${(lookup.length / sec).toFixed(0)} | ${pct(lookup, 0.5).toFixed(2)} | ${pct(lookup, 0.99).toFixed(2)} |`)
  console.log(`| ${peers} | ${total} | … of an id with 1 provider | ${lookupOne.length} | ${(lookupOne.length / sec).toFixed(0)} | ${pct(lookupOne, 0.5).toFixed(2)} | ${pct(lookupOne, 0.99).toFixed(2)} |`)
  console.log(`| ${peers} | ${total} | … of an id with ${workers > 1 ? '≥ 50' : 'many'} providers (50 returned) | ${lookupMany.length} | ${(lookupMany.length / sec).toFixed(0)} | ${pct(lookupMany, 0.5).toFixed(2)} | ${pct(lookupMany, 0.99).toFixed(2)} |`)
  console.log(`| ${peers} | ${total} | search (words, prefixes) | ${search.length} | ${(search.length / sec).toFixed(0)} | ${pct(search, 0.5).toFixed(2)} | ${pct(search, 0.99).toFixed(2)} |`)
  console.log('')
  console.log(`master RSS: ${rss.toFixed(0)} MiB now, ${maxRss.toFixed(0)} MiB max while measuring, ${hwm.toFixed(0)} MiB peak (VmHWM, includes populating)`)
  console.log(`errors: ${JSON.stringify(errors)}`)
  console.log(`targets: lookup p99 < 20 ms ${pct(lookup, 0.99) < 20 ? 'MET' : 'MISSED'}, search p99 < 50 ms ${pct(search, 0.99) < 50 ? 'MET' : 'MISSED'}, RSS < 1 GiB ${hwm < 1024 ? 'MET' : 'MISSED'}`)
  for (const w of ws) w.send({ cmd: 'stop' })
  await Promise.all(ws.map(w => w.exited))
  await master.stop()
} finally {
  // anything still running is SIGKILLed by lib.mjs on exit
  rmSync(dir, { recursive: true, force: true })
}
