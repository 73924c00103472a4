#!/usr/bin/env node
// Flash-crowd benchmark (issue 11): one seeder and N downloaders that start at once, every
// node's upload limited with tc tbf, FileShare against stock libtorrent in the same run.
// Needs root, iproute2 (ip, tc), a built dist/ (npm run build) and Debian's
// python3-libtorrent (apt-get install -y python3-libtorrent) for the libtorrent half.
//
//   sudo node scripts/bench/flash-crowd.mjs [--size MiB] [--rate mbit] [--downloaders N] [--rounds R] [--only fileshare|libtorrent]
//
// Topology (namespaces prefixed "fc-", torn down on exit; nothing touches the host's interfaces):
//   fc-sw: bridge br0, 10.78.0.0/24, no uplink
//   fc-m   10.78.0.2    FileShare master (unshaped: it carries no file data)
//   fc-s   10.78.0.10   the seeder              egress: tbf RATE
//   fc-dK  10.78.0.1K   downloader K (1 … N)    egress: tbf RATE
// FileShare: `peer.js --share` seeds; each downloader is scripts/bench/flash-crowd-node.mjs,
// the library's get with --seed semantics (it serves while downloading, and goes on serving
// once done). Both halves start every downloader process first and then tell them all "go"
// at once: the clock measures the swarm, not the start-up of N processes on a loaded machine
// (a Node process needs ≈ 0.8 CPU-s to load; python3 with libtorrent ≈ 0.1 s).
// libtorrent: scripts/bench/flash-crowd-lt.py, TCP only, no DHT/LSD/UPnP, every downloader
// connected to the seeder and to each other directly.
// FC_TRACE=DIR: each downloader's log (run with DEBUG=fileshare:peer:download* for the
// download's) and its verified chunks (time, index, sender), and every node's bytes sent
// each 250 ms, go to DIR; FC_CPU_PROF=DIR: a CPU profile per downloader (flash-crowd-node.mjs).
// Prints, per run: the time from the start of the crowd until the last download is done,
// divided by size ÷ seeder rate (the time one seeder needs to send one copy), and the share
// of downloaded bytes that came from other downloaders. Every run stops by itself
// (a deadline of 20 × the ideal time).
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, copyFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { sh, inNs, netnsStar } from './lib.mjs'

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    rate: { type: 'string', default: '40' },
    downloaders: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '1' },
    only: { type: 'string' },
    verbose: { type: 'boolean' },
    latency: { type: 'string', default: '50ms' }
  }
})
const SIZE = Number(values.size) * 1024 * 1024
const MBIT = Number(values.rate)
const RATE = `${MBIT}mbit`
/** tbf queue: packets that would wait longer are dropped */
const LATENCY = values.latency
const N = Number(values.downloaders)
const ROUNDS = Number(values.rounds)
const IDEAL = SIZE / (MBIT * 1e6 / 8) // seconds for one copy at the seeder's rate
const DEADLINE_MS = Math.max(60, IDEAL * 20) * 1000
const root = new URL('../..', import.meta.url).pathname
const PEER = join(root, 'dist/peer.js')
const MASTER = join(root, 'dist/master.js')
const LT = join(root, 'scripts/bench/flash-crowd-lt.py')
const NODE = join(root, 'scripts/bench/flash-crowd-node.mjs')
const PYTHON = '/usr/bin/python3'
const DL = Array.from({ length: N }, (_, i) => `fc-d${i + 1}`)
const IP = { 'fc-m': '10.78.0.2', 'fc-s': '10.78.0.10', ...Object.fromEntries(DL.map((ns, i) => [ns, `10.78.0.${11 + i}`])) }

if (process.getuid?.() !== 0) {
  console.error('flash-crowd bench: needs root (network namespaces and tc)')
  process.exit(1)
}
if (N < 1 || N > 200) {
  console.error('flash-crowd bench: --downloaders between 1 and 200')
  process.exit(2)
}

const star = netnsStar({ hub: 'fc-sw', ips: IP, shaped: ns => ns !== 'fc-m', rate: RATE, latency: LATENCY })
const children = new Set()

function killAll () {
  for (const c of children) if (c.exitCode == null && c.signalCode == null) c.kill('SIGKILL')
  children.clear()
}

function down () {
  killAll()
  star.down()
}


/** Spawns `cmd args…` in namespace `ns`; `onLine` gets each stdout line parsed as JSON. */
function run (ns, cmd, args, onLine) {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
  children.add(child)
  createInterface({ input: child.stdout }).on('line', line => {
    let e
    try { e = JSON.parse(line) } catch { return }
    onLine(e)
  })
  return child
}

/** Resolves with the first event named `name` from a new process (rejects if it exits first). */
function startAndWait (ns, cmd, args, name) {
  return new Promise((resolve, reject) => {
    const child = run(ns, cmd, args, e => { if (e.event === name) resolve({ child, event: e }) })
    child.on('exit', code => reject(new Error(`${cmd} ${args[0]} in ${ns} exited ${code}`)))
  })
}

/**
 * Starts every downloader process, waits until all are ready, then says "go" to all at
 * once; resolves with their done events and the wall time from "go" until the last.
 */
function crowd (spawnOne) {
  return new Promise((resolve, reject) => {
    let started = 0
    const ready = new Set()
    const done = new Map()
    const children = []
    const timer = setTimeout(() => reject(new Error(`crowd not done after ${DEADLINE_MS / 1000} s: ${ready.size}/${N} ready, ${done.size}/${N} finished`)), DEADLINE_MS * 2)
    for (const ns of DL) {
      const child = spawnOne(ns, e => {
        if (e.event === 'ready') {
          ready.add(ns)
          if (ready.size === N) {
            started = Date.now()
          uplinks.start(started)
            for (const c of children) c.stdin.write('go\n')
          }
        }
        if (e.event === 'error') console.error(`  ${ns}: ${e.message}`)
        if (e.event === 'provider-dropped' && values.verbose) console.log(`  ${ns}: dropped ${e.peer.slice(-6)}: ${e.reason}`)
        if (e.event !== 'done' || done.has(ns)) return
        done.set(ns, { ...e, wall: (Date.now() - started) / 1000 })
        if (done.size === N) {
          clearTimeout(timer)
          resolve({ seconds: (Date.now() - started) / 1000, done: [...done.values()] })
        }
      })
      children.push(child)
      child.on('exit', code => {
        if (!done.has(ns)) {
          clearTimeout(timer)
          reject(new Error(`downloader in ${ns} exited ${code} before it was done`))
        }
      })
    }
  })
}

/**
 * FC_TRACE=DIR: every 250 ms, the bytes each node has sent (its bridge port's rx counter),
 * written to DIR/uplinks-<name>.json: shows how busy each shaped uplink was, and when.
 */
const uplinks = {
  timer: null,
  samples: [],
  start (t0) {
    if (process.env.FC_TRACE == null) return
    this.samples = [{ t0 }]
    this.timer = setInterval(() => {
      try {
        const out = inNs('fc-sw', 'sh', '-c', 'for p in /sys/class/net/p-*; do echo ${p##*/} $(cat $p/statistics/rx_bytes); done')
        this.samples.push({ t: Date.now() - t0, sent: Object.fromEntries(out.trim().split('\n').map(l => l.split(' ')).map(([k, v]) => [k, Number(v)])) })
      } catch {}
    }, 250)
  },
  stop (name) {
    if (this.timer == null) return
    clearInterval(this.timer)
    this.timer = null
    writeFileSync(join(process.env.FC_TRACE, `uplinks-${name}.json`), JSON.stringify(this.samples))
  }
}

async function fileshareRound (tmp, file, r) {
  const master = await startAndWait('fc-m', process.execPath, [MASTER, '--listen', `/ip4/${IP['fc-m']}/tcp/4001`, '--data', join(tmp, `fs-master-${r}`), '--json'], 'ready')
  const masterAddr = master.event.addrs[0]
  const share = join(tmp, `fs-share-${r}`)
  mkdirSync(share)
  copyFileSync(file, join(share, 'crowd.bin'))
  await startAndWait('fc-s', process.execPath, [PEER, '--share', share, '--master', masterAddr, '--listen', `/ip4/${IP['fc-s']}/tcp/4002`, '--data', join(tmp, `fs-seeder-${r}`), '--json'], 'ready')
  await new Promise(resolve => setTimeout(resolve, 1000)) // the seeder's registration
  const id = sh(process.execPath, '--input-type=module', '-e', `import { hashFile, formatContentId } from '${join(root, 'dist/index.js')}'; console.log(formatContentId((await hashFile('${file}')).id)); process.exit(0)`).trim()
  const result = await crowd((ns, onLine) => run(ns, process.execPath, [NODE, masterAddr, `/ip4/${IP[ns]}/tcp/4003`, join(tmp, `fs-out-${r}-${ns}`), id], onLine))
  uplinks.stop(`fileshare-${r}`)
  killAll()
  if (values.verbose) for (const e of result.done) console.log(`  done at ${e.wall.toFixed(1)} s, get's own ${e.seconds.toFixed(1)} s, ${((e.partialBytes ?? 0) / 1048576).toFixed(0)} MiB from downloaders (first at ${e.firstPartial ?? '-'} s), ${((e.uploadedBytes ?? 0) / 1048576).toFixed(0)} MiB uploaded while downloading, first chunk at ${e.firstChunk} s, ${e.cpuSeconds?.toFixed(1)} CPU-s${e.reads != null ? `, ${e.reads} TCP reads of ${(e.readBytes / e.reads / 1024).toFixed(1)} KiB on average` : ''}`)
  const bytes = result.done.reduce((n, e) => n + e.bytes, 0)
  const fromPeers = result.done.reduce((n, e) => n + (e.partialBytes ?? 0), 0)
  return { seconds: result.seconds, fromPeers: fromPeers / bytes, slowestGet: Math.max(...result.done.map(e => e.seconds)) }
}

async function libtorrentRound (tmp, file, torrent, r) {
  const seedDir = join(tmp, `lt-seed-${r}`)
  mkdirSync(seedDir)
  copyFileSync(file, join(seedDir, 'crowd.bin'))
  await startAndWait('fc-s', PYTHON, [LT, 'seed', torrent, seedDir, IP['fc-s']], 'ready')
  const peersOf = ns => [`${IP['fc-s']}:6881`, ...DL.filter(d => d !== ns).map(d => `${IP[d]}:6881`)]
  const result = await crowd((ns, onLine) => run(ns, PYTHON, [LT, 'get', torrent, join(tmp, `lt-out-${r}-${ns}`), IP[ns], ...peersOf(ns)], onLine))
  uplinks.stop(`libtorrent-${r}`)
  killAll()
  if (values.verbose) for (const e of result.done) console.log(`  done at ${e.wall.toFixed(1)} s, own ${e.seconds.toFixed(1)} s, ${(e.fromPeers / 1048576).toFixed(0)} MiB from downloaders, ${e.cpuSeconds?.toFixed(1)} CPU-s, pieces of ${(e.pieceSize ?? 0) / 1024} KiB`)
  const fromPeers = result.done.reduce((n, e) => n + e.fromPeers, 0)
  const all = result.done.reduce((n, e) => n + e.fromPeers + e.fromSeeder, 0)
  return { seconds: result.seconds, fromPeers: all > 0 ? fromPeers / all : 0 }
}

const tmp = mkdtempSync(join(tmpdir(), 'fileshare-fc-bench-'))
process.on('exit', () => { down(); rmSync(tmp, { recursive: true, force: true }) })
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
try {
  down()
  star.up()
  const file = join(tmp, 'crowd.bin')
  writeFileSync(file, randomBytes(SIZE))
  const withLt = values.only !== 'fileshare' && existsSync(PYTHON) && (() => { try { sh(PYTHON, '-c', 'import libtorrent'); return true } catch { return false } })()
  if (!withLt && values.only !== 'fileshare') console.log('libtorrent half skipped: /usr/bin/python3 cannot import libtorrent (apt-get install -y python3-libtorrent)')
  const torrent = join(tmp, 'crowd.torrent')
  if (withLt) sh(PYTHON, LT, 'make', file, torrent)
  console.log(`flash crowd: 1 seeder + ${N} downloaders starting at once, ${SIZE / 1048576} MiB, every upload ${RATE} (tc tbf); size ÷ seeder rate = ${IDEAL.toFixed(1)} s`)
  const fs = []
  const lt = []
  for (let r = 0; r < ROUNDS; r++) {
    if (values.only !== 'libtorrent') {
      const a = await fileshareRound(tmp, file, r)
      fs.push(a)
      console.log(`round ${r + 1} FileShare:  last done after ${a.seconds.toFixed(1)} s = ${(a.seconds / IDEAL).toFixed(2)}x, ${(a.fromPeers * 100).toFixed(0)} % of bytes from downloaders (slowest get's own time ${a.slowestGet.toFixed(1)} s)`)
    }
    if (withLt) {
      const b = await libtorrentRound(tmp, file, torrent, r)
      lt.push(b)
      console.log(`round ${r + 1} libtorrent: last done after ${b.seconds.toFixed(1)} s = ${(b.seconds / IDEAL).toFixed(2)}x, ${(b.fromPeers * 100).toFixed(0)} % of bytes from downloaders`)
    }
    for (const d of DL) rmSync(join(tmp, `fs-out-${r}-${d}`), { recursive: true, force: true })
  }
  const f = fs.length > 0 ? median(fs.map(x => x.seconds)) / IDEAL : null
  const l = lt.length > 0 ? median(lt.map(x => x.seconds)) / IDEAL : null
  console.log(`median: FileShare ${f?.toFixed(2) ?? '-'}x, libtorrent ${l?.toFixed(2) ?? '-'}x of size ÷ seeder rate (target: FileShare <= 1.5x and never worse than libtorrent)`)
} catch (err) {
  console.error(`flash-crowd bench failed: ${err?.message ?? err}`)
  process.exitCode = 1
} finally {
  down()
}
process.exit(process.exitCode ?? 0)
