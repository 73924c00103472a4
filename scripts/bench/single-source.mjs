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
// config file), interleaved, with the receiving process's CPU seconds; no bare runs.
// Needs `npm run build` first (npm run bench:single-source does it).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, mkdirSync, openSync, writeSync, fsyncSync, closeSync, statSync, writeFileSync, readFileSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

const root = new URL('../../', import.meta.url).pathname
const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '1024' }, runs: { type: 'string', default: '3' }, keep: { type: 'boolean' }, 'cpu-prof': { type: 'string' }, links: { type: 'string' } } })
const LINKS = {
  'tcp+noise': { transports: ['tcp'], encrypters: ['noise'], listen: '/ip4/127.0.0.1/tcp/0' },
  'tcp+tls': { transports: ['tcp'], encrypters: ['tls'], listen: '/ip4/127.0.0.1/tcp/0' },
  'tcp+tls,noise': { transports: ['tcp'], encrypters: ['tls', 'noise'], listen: '/ip4/127.0.0.1/tcp/0' },
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
const children = new Set()
const nodeArgs = values['cpu-prof'] != null ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : []

function cleanup () {
  for (const child of children) child.kill('SIGKILL')
  if (values.keep !== true) rmSync(dir, { recursive: true, force: true })
}
process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

/** Starts a process; `next(pred)` resolves with the first JSON line matching pred. */
function start (args) {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  const lines = []
  const waiters = []
  let stderr = ''
  child.stderr.on('data', d => { stderr += d })
  createInterface({ input: child.stdout }).on('line', line => {
    let obj
    try { obj = JSON.parse(line) } catch { return }
    lines.push(obj)
    for (const w of [...waiters]) if (w.pred(obj)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(obj) }
  })
  const exited = new Promise(resolve => child.on('exit', code => {
    children.delete(child)
    for (const w of waiters) w.reject(new Error(`${args[0]} exited (${code}) before ${w.what}: ${stderr.trim()}`))
    resolve(code)
  }))
  return {
    child,
    exited,
    next: (pred, what = 'the expected event') => {
      const hit = lines.find(pred)
      if (hit != null) return Promise.resolve(hit)
      return new Promise((resolve, reject) => waiters.push({ pred, resolve, reject, what }))
    },
    stop: async () => { if (child.exitCode == null) { child.kill('SIGTERM'); await exited } }
  }
}

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
  const receiver = start([join(root, 'scripts/bench/bare-stream.mjs'), 'receive', out])
  const { addr } = await receiver.next(e => e.event === 'ready')
  const sender = start([join(root, 'scripts/bench/bare-stream.mjs'), 'send', source, addr])
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
  const master = start([join(root, 'dist/master.js'), '--json', '--data', join(dir, 'master'), '--listen', listen, ...config])
  const { addrs } = await master.next(e => e.event === 'ready')
  const sharer = start([join(root, 'dist/peer.js'), '--json', '--share', shareDir, '--data', join(dir, 'sharer'), '--master', addrs[0], '--listen', listen, ...config])
  await sharer.next(e => e.event === 'ready')
  // `ready` comes before the master has the file list: wait until a search finds the file
  for (let tries = 0; ; tries++) {
    const search = start([join(root, 'dist/peer.js'), 'search', 'single', 'source', '--master', addrs[0], '--json', ...config])
    if (await search.exited === 0) break
    if (tries === 50) throw new Error('the sharing peer never registered its file')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const out = join(dir, `get-${i}`)
  const getter = start([join(root, 'dist/peer.js'), 'get', 'single-source.bin', '--master', addrs[0], '--out', out, '--json', ...config])
  const done = await getter.next(e => e.event === 'done' || e.event === 'error')
  const cpu = cpuSeconds(getter.child.pid)
  const code = await getter.exited
  await sharer.stop()
  await master.stop()
  if (done.event !== 'done' || code !== 0) throw new Error(`get failed: ${JSON.stringify(done)}`)
  if (done.bytes !== size || statSync(done.path).size !== size) throw new Error(`get: ${done.bytes} bytes`)
  rmSync(out, { recursive: true })
  if (link != null) return { mbps: size / done.seconds / 1e6, cpu, path: done.providers[0]?.path }
  return size / done.seconds / 1e6
}

/** user+system CPU seconds of a running process so far (/proc/PID/stat). */
function cpuSeconds (pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch { return null }
}

const median = xs => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
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
      console.log(`run ${i + 1}/${runs}  ${link.padEnd(13)} ${r.mbps.toFixed(0).padStart(5)} MB/s, get process ${r.cpu?.toFixed(1) ?? '?'} CPU-s`)
    }
  }
  console.log(`\n${sizeMiB} MiB, ${runs} runs each (interleaved), medians:`)
  console.log('| link | MB/s (min–max) | get CPU s |')
  console.log('|---|---|---|')
  for (const link of links) {
    const rs = byLink[link]
    console.log(`| ${link} | ${median(rs.map(r => r.mbps)).toFixed(0)} (${Math.min(...rs.map(r => r.mbps)).toFixed(0)}–${Math.max(...rs.map(r => r.mbps)).toFixed(0)}) | ${median(rs.map(r => r.cpu ?? 0)).toFixed(1)} |`)
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
