#!/usr/bin/env node
// Issue 10: the master under a sustained flood. One dist/master.js process with the shipped
// limits (config/master.json); W worker processes with K keys in all (real libp2p nodes on
// 127.0.0.1) that, for D seconds, register batches of random records, ask lookups and
// searches back to back, and churn connections (forced new connections, some closed at
// once, some left idle); meanwhile a real client process (a sharing peer and a searching
// peer, connected before the flood) times its lookups and searches. Bounded: every process
// stops by itself after the duration (+ a safety timer), everything is on 127.0.0.1.
// Prints the master's peak RSS (VmHWM), the index size on disk (max while flooding, and its
// records at the end), the real client's lookup and search p50/p99, and the flood's answers.
// usage: node scripts/bench/flood.mjs [--keys 200] [--duration 60] [--workers 2] [--flood-from 127.0.0.2] [--pin] [--master-config FILE]
// --keys 0: no flood, the real client alone against the master (a baseline of the machine, to set beside the figures).
// --pin: the master alone on CPU 0; the flood workers on CPU 1 at nice 10, and the real client on CPU 1
// too (taskset): on a 2-core machine the attacker's CPU and the client's otherwise compete with the
// master's, and the client's with the attacker's, where in reality all three are other machines (the
// client, at nice 0, is not kept waiting by the attacker's processes). Printed with the figures.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync, statSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    keys: { type: 'string', default: '200' },
    duration: { type: 'string', default: '60' },
    workers: { type: 'string', default: '2' },
    master: { type: 'string' },
    dir: { type: 'string' },
    index: { type: 'string', default: '0' },
    // the flood's source address: another loopback address plays another household (default: the kernel's, 127.0.0.1)
    'flood-from': { type: 'string' },
    // the attacker is another machine in reality: run the flood workers on CPU 1 and the master on CPU 0 (taskset)
    pin: { type: 'boolean', default: false },
    // a JSON file whose keys override the shipped config/master.json (an A/B of the limits; printed)
    'master-config': { type: 'string' }
  }
})
const root = fileURLToPath(new URL('../../', import.meta.url))
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const pct = (xs, p) => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const WORDS = ['holiday', 'photo', 'music', 'report', 'video', 'notes', 'backup', 'paper', 'song', 'movie']

function commands () {
  const waiting = []
  createInterface({ input: process.stdin }).on('line', line => {
    let cmd
    try { cmd = JSON.parse(line) } catch { return }
    for (const w of waiting.splice(0)) w(cmd)
  })
  return () => new Promise(resolve => waiting.push(resolve))
}

if (values.role === 'worker') await worker()
else if (values.role === 'client') await client()
else await main()

/** K flooding keys: register, lookup, search, connection churn until the deadline. */
async function worker () {
  await import('../../dist/node/polyfill.js')
  const { multiaddr } = await import('@multiformats/multiaddr')
  const { createNode } = await import('../../dist/node/create-node.js')
  const { MasterClient } = await import('../../dist/peer/master-client.js')
  const { RegisterRequest } = await import('../../dist/protocols/register/pb/register.js')
  const ma = multiaddr(values.master)
  const keys = Number(values.keys)
  const next = commands()
  const from = values['flood-from']
  const newNode = async () => {
    if (from == null) return await createNode({ listen: [], maxConnections: 1000 })
    // a plain libp2p node whose TCP dials come from `from`
    const { createLibp2p } = await import('libp2p')
    const { tcp } = await import('@libp2p/tcp')
    const { noise } = await import('@chainsafe/libp2p-noise')
    const { yamux } = await import('@chainsafe/libp2p-yamux')
    const { identify } = await import('@libp2p/identify')
    return await createLibp2p({
      transports: [tcp({ dialOpts: { localAddress: from } })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: { denyDialMultiaddr: () => false },
      connectionManager: { maxConnections: 1000 },
      services: { identify: identify() }
    })
  }
  const nodes = []
  for (let i = 0; i < keys; i++) nodes.push(await newNode())
  // every key connects before the flood (paced: the master takes connectionsPerIpPerSecond from one IP)
  let connected = 0
  for (const node of nodes) {
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        // one lookup proves the connection (else the idle reaper closes it before the flood)
        await new MasterClient(node, ma).search('warm up')
        connected++
        break
      } catch {
        await sleep(250 * (attempt + 1))
      }
    }
  }
  say({ phase: 'ready', connected })
  const { durationMs } = await next()
  const deadline = Date.now() + durationMs
  setTimeout(() => process.exit(0), durationMs + 30_000).unref()
  const answers = {}
  const count = key => { answers[key] = (answers[key] ?? 0) + 1 }
  const samples = new Set()
  const code = err => {
    if (samples.size < 5) samples.add(String(err?.message ?? err).slice(0, 200))
    return err?.code ?? err?.name ?? 'ERROR'
  }
  let records = 0
  await Promise.all([
    ...nodes.map(async (node, k) => {
      const m = new MasterClient(node, ma)
      for (let round = 0; Date.now() < deadline; round++) {
        try {
          if (round % 3 === 0) {
            const files = Array.from({ length: 200 }, (_, i) => ({
              id: randomBytes(32),
              path: `${WORDS[(k + i) % WORDS.length]}/${randomBytes(10 + (i % 60)).toString('hex')}.bin`,
              size: i
            }))
            await m.register({ op: RegisterRequest.Op.ADD, files, paths: [] }, AbortSignal.timeout(15_000))
            records += files.length
            count('register OK')
          } else if (round % 3 === 1) {
            await m.providers(randomBytes(32))
            count('lookup OK')
          } else {
            await m.search(WORDS[round % WORDS.length])
            count('search OK')
          }
        } catch (err) {
          count(`${['register', 'lookup', 'search'][round % 3]} ${code(err)}`)
          await sleep(250)
        }
      }
    }),
    // connection churn: forced new connections from one node, half closed at once, half left idle
    (async () => {
      const churn = nodes[0]
      let opened = 0
      while (Date.now() < deadline) {
        await Promise.all(Array.from({ length: 5 }, async (_, i) => {
          try {
            const c = await churn.dial(ma, { force: true, signal: AbortSignal.timeout(10_000) })
            opened++
            count('connection opened')
            if (i % 2 === 0) await c.close()
          } catch {
            count('connection refused')
          }
        }))
        await sleep(200)
      }
      return opened
    })()
  ])
  say({ phase: 'done', answers, records, samples: [...samples] })
  await Promise.all(nodes.map(async n => { await n.stop().catch(() => {}) }))
  process.exit(0)
}

/** A real sharing peer and a real searching peer, connected before the flood, timing lookups during it. */
async function client () {
  const { createPeer } = await import('../../dist/index.js')
  const { hashFile } = await import('../../dist/content/hash-file.js')
  const next = commands()
  const share = join(values.dir, 'share')
  mkdirSync(share, { recursive: true })
  writeFileSync(join(share, 'real-client-file.bin'), randomBytes(100_000))
  const { id } = await hashFile(join(share, 'real-client-file.bin'))
  const sharer = await createPeer({ master: values.master, share, listen: ['/ip4/127.0.0.1/tcp/0'], data: null, settleMs: 0 })
  const searcher = await createPeer({ master: values.master, listen: [], data: null })
  while (!sharer.registered()) await sleep(100)
  await searcher.search('real client') // connects before the flood
  say({ phase: 'ready' })
  const { durationMs } = await next()
  setTimeout(() => process.exit(0), durationMs + 30_000).unref()
  const deadline = Date.now() + durationMs
  const lookup = []
  const search = []
  const failures = {}
  const failureSamples = new Set()
  /** lookups over 100 ms: when they ended (UTC) and how long they took, to set beside the master's loop trace */
  const slow = []
  // the client's own event loop: a slow lookup may wait here rather than at the master
  const { monitorEventLoopDelay } = await import('node:perf_hooks')
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  for (let i = 0; Date.now() < deadline; i++) {
    const t = process.hrtime.bigint()
    try {
      if (i % 2 === 0) {
        const { providers } = await searcher.master.providers(id)
        if (providers.length !== 1) throw Object.assign(new Error('wrong providers'), { code: 'WRONG' })
        const ms = Number(process.hrtime.bigint() - t) / 1e6
        lookup.push(ms)
        if (ms > 100 && slow.length < 50) slow.push([new Date().toISOString().slice(11, 23), Math.round(ms)])
      } else {
        const hits = await searcher.search('real client file')
        if (hits.length !== 1) throw Object.assign(new Error('wrong hits'), { code: 'WRONG' })
        search.push(Number(process.hrtime.bigint() - t) / 1e6)
      }
    } catch (err) {
      const c = err?.code ?? 'ERROR'
      failures[c] = (failures[c] ?? 0) + 1
      if (failureSamples.size < 5) failureSamples.add(`${i % 2 === 0 ? 'lookup' : 'search'}: ${String(err?.message ?? err).slice(0, 200)}`)
    }
    await sleep(20)
  }
  loop.disable()
  const clientLoop = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 }
  say({ phase: 'done', lookup, search, failures, failureSamples: [...failureSamples], clientLoop, slow })
  await searcher.stop()
  await sharer.stop()
  process.exit(0)
}

async function main () {
  const keys = Number(values.keys)
  // --keys 0: no flood at all, the same client on the same machine (a baseline for the figures)
  const workers = keys === 0 ? 0 : Number(values.workers)
  const durationMs = Number(values.duration) * 1000
  const dir = mkdtempSync(join(tmpdir(), 'fileshare-flood-'))
  const procs = []
  /** `cpu`: where --pin runs it; `nice`: its niceness then (the attacker's processes) */
  function start (args, name, cpu, nice = 0) {
    const pinned = values.pin && cpu != null
    const child = pinned
      ? spawn('nice', ['-n', String(nice), 'taskset', '-c', String(cpu), process.execPath, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
      : spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
    procs.push(child)
    const waiting = []
    const queue = []
    createInterface({ input: child.stdout }).on('line', line => {
      let ev
      try { ev = JSON.parse(line) } catch { return }
      const w = waiting.findIndex(x => x.phase === ev.phase || x.phase === ev.event)
      if (w >= 0) waiting.splice(w, 1)[0].resolve(ev)
      else queue.push(ev)
    })
    child.once('exit', code => { for (const w of waiting.splice(0)) w.reject(new Error(`${name} exited with ${code}`)) })
    return {
      child,
      next: phase => {
        const q = queue.findIndex(x => x.phase === phase || x.event === phase)
        if (q >= 0) return Promise.resolve(queue.splice(q, 1)[0])
        return new Promise((resolve, reject) => waiting.push({ phase, resolve, reject }))
      },
      send: obj => child.stdin.write(JSON.stringify(obj) + '\n')
    }
  }
  const mem = pid => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const get = key => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))[1]) / 1024
    return { rss: get('VmRSS'), hwm: get('VmHWM') }
  }
  const data = join(dir, 'master')
  const size = () => ['index.sqlite', 'index.sqlite-wal', 'index.sqlite-shm'].reduce((sum, f) => {
    try { return sum + statSync(join(data, f)).size } catch { return sum }
  }, 0)
  try {
    // the shipped limits (config/master.json), nothing lifted
    // FLOOD_MASTER_NODE_ARGS: extra node flags for the master alone (e.g. --cpu-prof, to see where its time goes)
    const masterNodeArgs = (process.env.FLOOD_MASTER_NODE_ARGS ?? '').split(' ').filter(a => a !== '')
    const overrides = values['master-config'] != null ? ['--config', values['master-config']] : []
    if (overrides.length > 0) console.log(`master config overrides: ${readFileSync(values['master-config'], 'utf8').trim()}`)
    const master = start([...masterNodeArgs, 'dist/master.js', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', data, '--json', ...overrides], 'master', 0)
    const addr = (await master.next('ready')).addrs[0]
    if (values.pin) console.log('pinned: the master alone on CPU 0; the flood workers (nice 10) and the real client (nice 0) on CPU 1 (taskset)')
    console.log(`master ${addr}, RSS ${mem(master.child.pid).rss.toFixed(0)} MiB empty`)
    const real = start(['scripts/bench/flood.mjs', '--role', 'client', '--master', addr, '--dir', dir], 'client', 1)
    await real.next('ready')
    const perWorker = workers === 0 ? 0 : Math.ceil(keys / workers)
    const from = values['flood-from'] != null ? ['--flood-from', values['flood-from']] : []
    const ws = Array.from({ length: workers }, (_, w) => start(['scripts/bench/flood.mjs', '--role', 'worker', '--master', addr, '--keys', String(Math.min(perWorker, keys - w * perWorker)), '--index', String(w), ...from], `worker ${w}`, 1, 10))
    const connected = (await Promise.all(ws.map(w => w.next('ready')))).reduce((a, r) => a + r.connected, 0)
    console.log(`${keys} flooding keys in ${workers} processes (${connected} connected${from.length > 0 ? `, from ${from[1]}` : ''}), a real client connected; flooding for ${durationMs / 1000} s`)
    let maxSize = 0
    let maxRss = 0
    const sampler = setInterval(() => {
      maxSize = Math.max(maxSize, size())
      maxRss = Math.max(maxRss, mem(master.child.pid).rss)
    }, 500)
    for (const w of [real, ...ws]) w.send({ cmd: 'go', durationMs })
    const [measured, ...flooded] = await Promise.all([real.next('done'), ...ws.map(w => w.next('done'))])
    clearInterval(sampler)
    const { hwm, rss } = mem(master.child.pid)
    maxSize = Math.max(maxSize, size())
    const answers = {}
    for (const f of flooded) for (const [k, v] of Object.entries(f.answers)) answers[k] = (answers[k] ?? 0) + v
    master.child.kill('SIGTERM')
    await new Promise(resolve => master.child.once('exit', resolve))
    const { default: Database } = await import('better-sqlite3')
    const db = new Database(join(data, 'index.sqlite'), { readonly: true })
    const records = db.prepare('SELECT COUNT(*) FROM files').pluck().get()
    db.close()
    const { lookup, search, failures, failureSamples, clientLoop, slow } = measured
    console.log('')
    console.log('| real client during the flood | requests | p50 ms | p95 ms | p99 ms | max ms |')
    console.log('|---|---|---|---|---|---|')
    console.log(`| lookup (providers of its file) | ${lookup.length} | ${pct(lookup, 0.5).toFixed(1)} | ${pct(lookup, 0.95).toFixed(1)} | ${pct(lookup, 0.99).toFixed(1)} | ${Math.max(...lookup).toFixed(1)} |`)
    console.log(`| search (3 words) | ${search.length} | ${pct(search, 0.5).toFixed(1)} | ${pct(search, 0.95).toFixed(1)} | ${pct(search, 0.99).toFixed(1)} | ${Math.max(...search).toFixed(1)} |`)
    console.log('')
    console.log(`real client failures: ${JSON.stringify(failures)}${failureSamples.length > 0 ? ` e.g. ${JSON.stringify(failureSamples)}` : ''}`)
    if (process.env.FLOOD_SLOW === '1') console.log(`slow lookups (ended at, ms): ${JSON.stringify(slow)}`)
    console.log(`real client's own event loop delay: p50 ${clientLoop.p50.toFixed(1)} ms, p99 ${clientLoop.p99.toFixed(1)} ms, max ${clientLoop.max.toFixed(1)} ms`)
    console.log(`master: peak RSS (VmHWM) ${hwm.toFixed(0)} MiB, max RSS sampled ${maxRss.toFixed(0)} MiB, ${rss.toFixed(0)} MiB at the end`)
    console.log(`index: ${(maxSize / 2 ** 20).toFixed(1)} MiB on disk at most (db + WAL), ${records} records at the end`)
    console.log(`flood answers: ${JSON.stringify(answers)}`)
    console.log(`some flood errors: ${JSON.stringify(flooded.flatMap(f => f.samples ?? []).slice(0, 6), null, 1)}`)
    console.log(`target: real lookup p99 < 100 ms ${pct(lookup, 0.99) < 100 ? 'MET' : 'MISSED'}`)
  } finally {
    for (const p of procs) if (p.exitCode == null) p.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
