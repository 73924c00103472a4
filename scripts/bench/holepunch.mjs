#!/usr/bin/env node
// Hole-punching campaign in the NAT lab (root; scripts/natlab.sh, NATLAB_WAN=public).
//
//   npm run build && node scripts/bench/holepunch.mjs [--trials 20] [--mb 256] [--pairs masq/masq,masq/random,random/masq,random/random]
//                                                     [--prefix hpb] [--timeout 120] [--keep-logs DIR] [--data-limit MIB]
//
// --data-limit MIB: the master's relay.dataLimit, so relayed downloads are cut every MIB MiB
// (symmetric NATs stay relayed: the table then shows what the cuts cost).
//
// For each pair of NAT kinds (provider's NAT / downloader's NAT; masq = port-preserving
// MASQUERADE, random = --random-fully "symmetric" NAT, both with the home-router firewall)
// a lab is built, a master started, and then per trial: a fresh sharing peer behind nat1
// (new key, new ports), a fresh `get` behind nat2 of a MB-MiB file, bounded by --timeout.
// Per trial: completed?, the provider's final path (direct/relayed), the time from the
// relayed connection to the punched direct one (the hole-punch log line), and the bytes
// that crossed the master during the get (half of the master's wan0 rx+tx: the relay
// forwards every byte it receives). Prints a table; --json prints the raw trials too.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, mkdirSync, openSync, writeSync, closeSync, writeFileSync, appendFileSync } from 'node:fs'
import { randomFillSync } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    mb: { type: 'string', default: '256' },
    pairs: { type: 'string', default: 'masq/masq,masq/random,random/masq,random/random' },
    prefix: { type: 'string', default: 'hpb' },
    timeout: { type: 'string', default: '120' },
    'keep-logs': { type: 'string' },
    'data-limit': { type: 'string' },
    json: { type: 'boolean' }
  }
})
const TRIALS = Number(values.trials)
const MB = Number(values.mb)
const TIMEOUT_MS = Number(values.timeout) * 1000
const PREFIX = values.prefix
const root = new URL('../..', import.meta.url).pathname
const NATLAB = join(root, 'scripts/natlab.sh')
if (process.getuid?.() !== 0) {
  console.error('holepunch bench: needs root (network namespaces)')
  process.exit(2)
}
const dir = mkdtempSync(join(tmpdir(), 'fileshare-bench-holepunch-'))
spawnSync('chmod', ['755', dir])
const live = new Set()

function natlab (env, ...args) {
  const res = spawnSync('bash', [NATLAB, ...args], { env: { ...process.env, NATLAB_PREFIX: PREFIX, NATLAB_WAN: 'public', NATLAB_PEER3: '0', ...env }, encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`natlab ${args.join(' ')}: ${res.stderr}`)
  return res.stdout.trim()
}

/** A node process in a namespace: JSON events from stdout, stderr kept (and logged with --keep-logs). */
function start (node, script, args, env = {}) {
  const child = spawn('ip', ['netns', 'exec', `${PREFIX}-${node}`, process.execPath, join(root, 'dist', script), ...args, '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  live.add(child)
  const events = []
  let buf = ''
  let stderr = ''
  const waiters = new Set()
  child.stdout.setEncoding('utf8').on('data', text => {
    buf += text
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      try { events.push({ ...JSON.parse(line), at: Date.now() }) } catch {}
      for (const w of waiters) w()
    }
  })
  child.stderr.setEncoding('utf8').on('data', text => {
    stderr += text
    if (values['keep-logs'] != null) appendFileSync(join(values['keep-logs'], `${node}-${script}-${child.pid}.log`), text)
  })
  const exited = new Promise(resolve => child.on('exit', code => { live.delete(child); resolve(code ?? 1); for (const w of waiters) w() }))
  async function event (name, ms = 30_000) {
    const deadline = Date.now() + ms
    while (true) {
      const e = events.find(x => x.event === name)
      if (e != null) return e
      if (child.exitCode != null || child.signalCode != null || Date.now() > deadline) throw new Error(`${node} ${script}: no '${name}' (${stderr.slice(-600)})`)
      await new Promise(resolve => { const t = setTimeout(done, 250); function done () { clearTimeout(t); waiters.delete(done); resolve() } waiters.add(done) })
    }
  }
  async function stop () {
    if (child.exitCode != null || child.signalCode != null) return
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
  }
  return { child, events, event, exited, stop, stderr: () => stderr }
}

function wanBytes () {
  const read = name => Number(spawnSync('ip', ['netns', 'exec', `${PREFIX}-master`, 'cat', `/sys/class/net/wan0/statistics/${name}`], { encoding: 'utf8' }).stdout)
  return read('rx_bytes') + read('tx_bytes')
}

function median (xs) {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const results = []
async function campaign (pair) {
  const [nat1, nat2] = pair.split('/')
  natlab({ NATLAB_NAT1_MODE: nat1, NATLAB_NAT2_MODE: nat2 }, 'up')
  const masterIp = natlab({}, 'addr', 'master')
  const masterArgs = ['--listen', `/ip4/${masterIp}/tcp/4001`, '--listen', `/ip4/${masterIp}/udp/4001/quic-v1`, '--data', join(dir, `master-${nat1}-${nat2}`)]
  if (values['data-limit'] != null) {
    writeFileSync(join(dir, 'master.json'), JSON.stringify({ relay: { dataLimit: Math.round(Number(values['data-limit']) * 1048576) } }))
    masterArgs.push('--config', join(dir, 'master.json'))
  }
  const master = start('master', 'master.js', masterArgs)
  try {
    const ready = await master.event('ready')
    const masterAddr = ready.addrs.find(a => a.includes('/tcp/4001/'))
    for (let trial = 0; trial < TRIALS; trial++) {
      const tag = `${nat1}-${nat2}-${trial}`
      const provider = start('peer1', 'peer.js', ['--share', join(dir, 'share'), '--master', masterAddr, '--data', join(dir, `p-${tag}`)], { DEBUG: 'fileshare:hole-punch' })
      const record = { pair, trial, ok: false, path: null, toDirectMs: null, relayBytes: null, seconds: null, relayedChunkBytes: null }
      try {
        const r = await provider.event('ready', 60_000)
        if (r.reachability !== 'relayed') throw new Error(`provider is ${r.reachability}`)
        const before = wanBytes()
        const get = start('peer2', 'peer.js', ['get', 'holepunch.bin', '--master', masterAddr, '--out', join(dir, `out-${tag}`)], { DEBUG: 'fileshare:hole-punch,fileshare:peer:download' })
        const timer = setTimeout(() => { void get.stop() }, TIMEOUT_MS)
        const code = await get.exited
        clearTimeout(timer)
        record.relayBytes = Math.round((wanBytes() - before) / 2)
        const done = get.events.find(e => e.event === 'done')
        record.ok = code === 0 && done != null
        if (done != null) {
          record.seconds = done.seconds
          record.path = done.providers[0]?.path ?? null
          record.relayedChunkBytes = done.providers[0]?.relayedBytes ?? null
        }
        const m = /punched through to \S+ in (\d+) ms/.exec(get.stderr())
        if (m != null) record.toDirectMs = Number(m[1])
        record.cuts = (get.stderr().match(/connection to \S+ lost/g) ?? []).length
        if (!record.ok) record.error = get.stderr().split('\n').filter(l => !l.includes('fileshare:hole-punch')).slice(-3).join(' | ')
      } catch (err) {
        record.error = err.message
      } finally {
        await provider.stop()
        rmSync(join(dir, `out-${tag}`), { recursive: true, force: true })
        rmSync(join(dir, `p-${tag}`), { recursive: true, force: true })
      }
      results.push(record)
      console.log(`${pair.padEnd(14)} #${String(trial + 1).padStart(2)} ${record.ok ? 'ok  ' : 'FAIL'} ${String(record.path).padEnd(8)} to-direct ${record.toDirectMs == null ? '   -' : String(record.toDirectMs).padStart(4)} ms  master relayed ${(record.relayBytes / 1048576).toFixed(2).padStart(7)} MiB  ${record.seconds?.toFixed(2) ?? '-'} s${record.cuts > 0 ? `  ${record.cuts} relay cuts` : ''}${record.error != null ? '  ' + record.error.slice(0, 200) : ''}`)
    }
  } finally {
    await master.stop()
    natlab({}, 'down')
  }
}

try {
  mkdirSync(join(dir, 'share'))
  const fd = openSync(join(dir, 'share', 'holepunch.bin'), 'w')
  const buf = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < MB; i++) writeSync(fd, randomFillSync(buf))
  closeSync(fd)
  for (const pair of values.pairs.split(',')) await campaign(pair)
  console.log(`\n${MB} MiB per trial, ${TRIALS} trials per pair (provider NAT / downloader NAT):\n`)
  console.log('| NATs (provider / downloader) | completed | direct | median to direct | median MiB through the master (direct trials) | median MiB through the master (relayed trials) | median s |')
  console.log('|---|---|---|---|---|---|---|')
  for (const pair of values.pairs.split(',')) {
    const rs = results.filter(r => r.pair === pair)
    const direct = rs.filter(r => r.ok && r.path === 'direct')
    const relayed = rs.filter(r => r.ok && r.path !== 'direct')
    const mib = xs => { const m = median(xs); return m == null ? '-' : (m / 1048576).toFixed(2) }
    const toDirect = median(direct.map(r => r.toDirectMs).filter(x => x != null))
    console.log(`| ${pair} | ${rs.filter(r => r.ok).length}/${rs.length} | ${direct.length}/${rs.length} (${Math.round(100 * direct.length / Math.max(1, rs.length))} %) | ${toDirect == null ? '-' : toDirect + ' ms'} | ${mib(direct.map(r => r.relayBytes))} | ${mib(relayed.map(r => r.relayBytes))} | ${median(rs.filter(r => r.ok).map(r => r.seconds))?.toFixed(2) ?? '-'} |`)
  }
  if (values.json === true) console.log(JSON.stringify(results))
} finally {
  for (const c of live) c.kill('SIGKILL')
  try { natlab({}, 'down') } catch {}
  rmSync(dir, { recursive: true, force: true })
}
