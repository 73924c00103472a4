#!/usr/bin/env node
// Single-source get vs a bare libp2p stream, measured in the same run (issue 2):
//   node scripts/bench/single-source.mjs [--size-mib 1024] [--runs 3] [--keep]
// Creates a random file in a temp folder, then alternates
//   bare:  two fresh node processes (bare-stream.mjs) moving the file disk to disk over
//          tcp + noise + yamux, timed from the sender's dial to the receiver's fsync of the
//          last byte;
//   get:   fresh dist/master.js + dist/peer.js --share + dist/peer.js get --json, timed by
//          the get's `done.seconds` (dial and manifest request → every chunk verified, written,
//          fsync'ed and the file linked under its name);
// and prints MB/s (10^6 bytes/s) of every run, the medians and their ratio (get / bare).
// `--cpu-prof DIR` writes a V8 CPU profile of every spawned process into DIR.
// `--links tcp+noise,tcp+tls,quic` compares links instead: per run, one get over each
// (master, sharing peer and get all restricted to that transport and encrypter by a
// config file), interleaved, with the CPU seconds of the get process and of the sharing
// peer during the get; no bare runs.
// Needs `npm run build` first (npm run bench:single-source does it).
import { mkdtempSync, rmSync, mkdirSync, openSync, writeSync, fsyncSync, closeSync, statSync, writeFileSync, readFileSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { start as startProcess, runToEnd, median, ROOT, MASTER_JS, PEER_JS } from './lib.mjs'

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean' }, 'cpu-prof': { type: 'string' }, links: { type: 'string' } } })
const LINKS = {
  'tcp+noise': { transports: ['tcp'], encrypters: ['noise'], listen: '/ip4/127.0.0.1/tcp/0' },
  'tcp+tls': { transports: ['tcp'], encrypters: ['tls'], listen: '/ip4/127.0.0.1/tcp/0' },
  quic: { transports: ['quic'], encrypters: ['noise'], listen: '/ip4/127.0.0.1/udp/0/quic-v1' }
}
const links = values.links?.split(',').map(l => l.trim()).filter(Boolean) ?? null
for (const l of links ?? []) if (LINKS[l] == null) { console.error(`unknown link ${l} (${Object.keys(LINKS).join(', ')})`); process.exit(2) }
const sizeMiB = Number(values['size-mib'])
const runs = Number(values.runs)
if (!(sizeMiB > 0) || !(runs > 0)) {
  console.error('usage: single-source.mjs [--size-mib N] [--runs N] [--keep] [--cpu-prof DIR]')
  process.exit(2)
}
const size = sizeMiB * 1024 * 1024
const dir = mkdtempSync(join(tmpdir(), 'fileshare-bench-'))
const nodeArgs = values['cpu-prof'] != null ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []

// the processes still running are SIGKILLed by lib.mjs on exit
process.on('exit', () => { if (values.keep !== true) rmSync(dir, { recursive: true, force: true }) })
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

/** Starts a node process (profiled with --cpu-prof DIR). */
const start = args => startProcess(args, { nodeArgs })
const BARE_JS = join(ROOT, 'scripts/bench/bare-stream.mjs')

function makeFile (path) {
  const fd = openSync(path, 'w')
  const buf = Buffer.alloc(1 << 20)
  for (let i = 0; i < sizeMiB; i++) { randomFillSync(buf); writeSync(fd, buf) }
  // flushed before the first run: background writeback would slow down whichever run it hits
  fsyncSync(fd)
  closeSync(fd)
}

async function bare (i) {
  const out = join(dir, `bare-${i}.bin`)
  const receiver = start([BARE_JS, 'receive', out])
  const { addr } = await receiver.next(e => e.event === 'ready')
  const sender = start([BARE_JS, 'send', source, addr])
  const dialing = await sender.next(e => e.event === 'dialing')
  const done = await receiver.next(e => e.event === 'done')
  await Promise.all([sender.exited, receiver.exited])
  if (done.bytes !== size || statSync(out).size !== size) throw new Error(`bare: ${done.bytes} bytes arrived`)
  rmSync(out)
  // from the sender's dial to the receiver's fsync: a get's done.seconds also counts its dial
  return size / ((done.endedAt - dialing.at) / 1000) / 1e6
}

async function get (i, link = null) {
  const listen = link != null ? LINKS[link].listen : '/ip4/127.0.0.1/tcp/0'
  const config = []
  if (link != null) {
    const file = join(dir, `link-${link}.json`)
    writeFileSync(file, JSON.stringify({ transports: LINKS[link].transports, encrypters: LINKS[link].encrypters, listen: [listen] }))
    config.push('--config', file)
  }
  const master = start([MASTER_JS, '--json', '--data', join(dir, 'master'), '--listen', listen, ...config])
  const { addrs } = await master.next(e => e.event === 'ready')
  const sharer = start([PEER_JS, '--json', '--share', shareDir, '--data', join(dir, 'sharer'), '--master', addrs[0], '--listen', listen, ...config])
  await sharer.next(e => e.event === 'ready')
  // `ready` comes before the master has the file list: wait until a search finds the file
  for (let tries = 0; ; tries++) {
    if ((await runToEnd([PEER_JS, 'search', 'single', 'source', '--master', addrs[0], '--json', ...config])).code === 0) break
    if (tries === 50) throw new Error('the sharing peer never registered its file')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const out = join(dir, `get-${i}`)
  const sharerCpuBefore = cpuSeconds(sharer.child.pid)
  const getter = start([PEER_JS, 'get', 'single-source.bin', '--master', addrs[0], '--out', out, '--json', ...config])
  const done = await getter.next(e => e.event === 'done' || e.event === 'error')
  const cpu = cpuSeconds(getter.child.pid)
  const sharerCpuAfter = cpuSeconds(sharer.child.pid)
  const sharerCpu = sharerCpuBefore != null && sharerCpuAfter != null ? sharerCpuAfter - sharerCpuBefore : null
  const code = await getter.exited
  await sharer.stop()
  await master.stop()
  if (done.event !== 'done' || code !== 0) throw new Error(`get failed: ${JSON.stringify(done)}`)
  if (done.bytes !== size || statSync(done.path).size !== size) throw new Error(`get: ${done.bytes} bytes`)
  rmSync(out, { recursive: true })
  if (link != null) return { mbps: size / done.seconds / 1e6, cpu, sharerCpu, path: done.providers[0]?.path }
  return size / done.seconds / 1e6
}

/** user+system CPU seconds of a running process so far (/proc/PID/stat). */
function cpuSeconds (pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch { return null }
}

const shareDir = join(dir, 'share')
mkdirSync(shareDir)
const source = join(shareDir, 'single-source.bin')
console.log(`creating a ${sizeMiB} MiB random file in ${dir} …`)
makeFile(source)
if (links != null) {
  const byLink = Object.fromEntries(links.map(l => [l, []]))
  for (let i = 0; i < runs; i++) {
    for (const link of links) {
      const r = await get(`${link}-${i}`, link)
      byLink[link].push(r)
      console.log(`run ${i + 1}/${runs}  ${link.padEnd(10)} ${r.mbps.toFixed(0).padStart(5)} MB/s, get process ${r.cpu?.toFixed(1) ?? '?'} CPU-s, sharing peer ${r.sharerCpu?.toFixed(1) ?? '?'} CPU-s during the get`)
    }
  }
  console.log(`\n${sizeMiB} MiB, ${runs} runs each (interleaved), medians:`)
  console.log('| link | MB/s (min–max) | get CPU s | sharing peer CPU s |')
  console.log('|---|---|---|---|')
  for (const link of links) {
    const rs = byLink[link]
    console.log(`| ${link} | ${median(rs.map(r => r.mbps)).toFixed(0)} (${Math.min(...rs.map(r => r.mbps)).toFixed(0)}–${Math.max(...rs.map(r => r.mbps)).toFixed(0)}) | ${median(rs.map(r => r.cpu ?? 0)).toFixed(1)} | ${median(rs.map(r => r.sharerCpu ?? 0)).toFixed(1)} |`)
  }
  console.log(JSON.stringify({ event: 'result', sizeMiB, runs, links: byLink }))
  process.exit(0)
}
const results = { bare: [], get: [] }
for (let i = 0; i < runs; i++) {
  results.bare.push(await bare(i))
  console.log(`run ${i + 1}/${runs}  bare stream ${results.bare.at(-1).toFixed(0)} MB/s`)
  results.get.push(await get(i))
  console.log(`run ${i + 1}/${runs}  fileshare get ${results.get.at(-1).toFixed(0)} MB/s`)
}
const b = median(results.bare)
const g = median(results.get)
console.log(`\n${sizeMiB} MiB, ${runs} runs each, medians:`)
console.log(`  bare libp2p stream (tcp+noise+yamux, disk to disk): ${b.toFixed(0)} MB/s`)
console.log(`  fileshare get, single source (verified, to disk):   ${g.toFixed(0)} MB/s`)
console.log(`  ratio get/bare: ${(g / b).toFixed(2)} (target ≥ 0.80)`)
console.log(JSON.stringify({ event: 'result', sizeMiB, runs, bare: results.bare.map(x => +x.toFixed(1)), get: results.get.map(x => +x.toFixed(1)), bareMedian: +b.toFixed(1), getMedian: +g.toFixed(1), ratio: +(g / b).toFixed(3) }))
process.exit(0)
