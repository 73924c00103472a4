#!/usr/bin/env node
// Relayed vs direct download throughput, measured in one run on 127.0.0.1.
//
//   npm run build && node scripts/bench/relay.mjs [--mb 256] [--runs 3] [--data-limit MIB] [--only relayed]
//
// --data-limit MIB sets the master's relay.dataLimit (bytes per relayed connection), so
// that every relayed download needs a new relayed connection every MIB MiB: the relayed
// runs then also report how many connections were renewed ahead of the limit (make before
// break), how many were cut anyway (`get`'s re-dials) and how soon chunks flowed again
// after a cut, from its debug log (run once with and once without the option to compare).
//
// Real processes of dist/*.js: a master (the relay, limits from config/master.json), one
// provider that listens on TCP (reached direct) and one with no listen address at all
// (reachable only through its relay reservation on the master), both sharing the same
// file, and a `peer.js get` client per run that listens nowhere (so nobody can dial it
// back and the relayed path stays relayed). Runs alternate direct / relayed; the figures
// are the medians of the `done` events' bytes / seconds, and their ratio.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { mb: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' }, 'data-limit': { type: 'string' }, only: { type: 'string' } } })
const KINDS = values.only != null ? values.only.split(',') : ['direct', 'relayed']
const MB = Number(values.mb)
const RUNS = Number(values.runs)
const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'fileshare-bench-relay-'))
const procs = []

function start (script, args, env = {}) {
  const child = spawn(process.execPath, [join(root, 'dist', script), ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', text => { stderr += text; if (env.DEBUG == null) process.stderr.write(text) })
  procs.push(child)
  const events = []
  let buf = ''
  const waiters = []
  child.stdout.setEncoding('utf8').on('data', text => {
    buf += text
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      try { events.push(JSON.parse(line)) } catch {}
      for (const w of waiters.splice(0)) w()
    }
  })
  const exited = new Promise(resolve => child.on('exit', code => { resolve(code); for (const w of waiters.splice(0)) w() }))
  async function event (name) {
    while (true) {
      const e = events.find(x => x.event === name)
      if (e != null) return e
      if (child.exitCode != null) throw new Error(`${script} exited before '${name}'`)
      await new Promise(resolve => waiters.push(resolve))
    }
  }
  return { child, events, event, exited, stderr: () => stderr }
}

/**
 * Seconds from each relay cut to the next chunk that arrived: the time of the last chunk
 * before the cut to the first chunk after it, from the get's debug log (ISO timestamps).
 */
function cutGaps (log) {
  const gaps = []
  let lastChunk = null
  let cutAfter = null
  for (const line of log.split('\n')) {
    const at = Date.parse(line.slice(0, 24))
    if (Number.isNaN(at)) continue
    if (/ lost \(/.test(line)) { if (cutAfter == null) cutAfter = lastChunk ?? at; continue }
    if (/fileshare:peer:download:trace chunk \d+ from/.test(line)) {
      if (cutAfter != null) { gaps.push(at - cutAfter); cutAfter = null }
      lastChunk = at
    }
  }
  return gaps
}

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

try {
  const share = join(dir, 'share')
  mkdirSync(share)
  const fd = openSync(join(share, 'bench.bin'), 'w')
  for (let i = 0; i < MB; i++) writeSync(fd, randomBytes(1024 * 1024))
  closeSync(fd)
  const quiet = join(dir, 'no-listen.json')
  writeFileSync(quiet, JSON.stringify({ listen: [], reachability: 'relayed' }))

  const masterArgs = ['--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'master')]
  if (values['data-limit'] != null) {
    const masterConfig = join(dir, 'master.json')
    writeFileSync(masterConfig, JSON.stringify({ relay: { dataLimit: Math.round(Number(values['data-limit']) * 1024 * 1024) } }))
    masterArgs.push('--config', masterConfig)
  }
  const master = start('master.js', masterArgs)
  const masterAddr = (await master.event('ready')).addrs[0]
  const direct = start('peer.js', ['--share', share, '--master', masterAddr, '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'p-direct')])
  const relayed = start('peer.js', ['--share', share, '--master', masterAddr, '--config', quiet, '--data', join(dir, 'p-relayed')])
  const d = await direct.event('ready')
  let r = await relayed.event('ready')
  if (r.reachability !== 'relayed') {
    // a first reservation may race the master's identify of the peer: it retries
    const deadline = Date.now() + 30_000
    while (!relayed.events.some(e => e.event === 'reachability' && e.reachability === 'relayed')) {
      if (Date.now() > deadline || relayed.child.exitCode != null) throw new Error(`relay-only provider is ${r.reachability}`)
      await new Promise(resolve => setTimeout(resolve, 200))
    }
    r = { ...r, reachableAddrs: relayed.events.find(e => e.event === 'reachability' && e.reachability === 'relayed').addrs }
  }
  const id = execFileSync(process.execPath, [join(root, 'dist/peer.js'), 'search', 'bench', '--master', masterAddr, '--json'], { encoding: 'utf8' })
    .split('\n').filter(Boolean).map(l => JSON.parse(l)).find(e => e.event === 'result').id
  const from = {
    direct: d.addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/')),
    relayed: r.reachableAddrs[0]
  }
  const results = { direct: [], relayed: [] }
  const cutsPerRun = []
  for (let run = 0; run < RUNS; run++) {
    for (const kind of KINDS) {
      const out = join(dir, `out-${kind}-${run}`)
      const get = start('peer.js', ['get', id, '--from', from[kind], '--out', out, '--config', quiet], { DEBUG: process.env.DEBUG ?? 'fileshare:peer:download,fileshare:peer:download:trace' })
      const done = await get.event('done')
      await get.exited
      if (done.providers[0].path !== kind) throw new Error(`${kind} run went ${done.providers[0].path}`)
      const mbps = done.bytes / 1e6 / done.seconds
      results[kind].push(mbps)
      if (process.env.RELAY_BENCH_LOG != null) writeFileSync(`${process.env.RELAY_BENCH_LOG}-${kind}-${run}.log`, get.stderr())
      const cuts = (get.stderr().match(/connection to \S+ lost/g) ?? []).length
      const renewals = (get.stderr().match(/renewed on /g) ?? []).length
      if (kind === 'relayed') cutsPerRun.push({ cuts, renewals, seconds: done.seconds, gaps: cutGaps(get.stderr()) })
      const gaps = kind === 'relayed' ? cutsPerRun.at(-1).gaps : []
      console.log(`run ${run + 1} ${kind.padEnd(7)} ${mbps.toFixed(0).padStart(5)} MB/s (${done.seconds.toFixed(2)} s)${kind === 'relayed' ? `, ${renewals} relayed connection(s) renewed before the limit, ${cuts} relay cut(s) survived${gaps.length > 0 ? `, data again ${gaps.map(g => (g / 1000).toFixed(2)).join('/')} s after each` : ''}` : ''}`)
      rmSync(out, { recursive: true, force: true })
    }
  }
  const md = median(results.direct)
  const mr = median(results.relayed)
  if (md != null && mr != null) console.log(`\n${MB} MiB, ${RUNS} runs each, medians: direct ${md.toFixed(0)} MB/s, relayed ${mr.toFixed(0)} MB/s, relayed/direct = ${(mr / md).toFixed(2)}`)
  else if (mr != null) console.log(`\n${MB} MiB, ${RUNS} runs, median relayed ${mr.toFixed(0)} MB/s`)
  if (values['data-limit'] != null && cutsPerRun.length > 0) {
    const allGaps = cutsPerRun.flatMap(c => c.gaps)
    console.log(`relay.dataLimit ${values['data-limit']} MiB: median ${median(cutsPerRun.map(c => c.renewals))} renewals and ${median(cutsPerRun.map(c => c.cuts))} cuts per download, median ${median(cutsPerRun.map(c => c.seconds)).toFixed(2)} s; chunks flow again a median ${allGaps.length > 0 ? (median(allGaps) / 1000).toFixed(2) : '-'} s (max ${allGaps.length > 0 ? (Math.max(...allGaps) / 1000).toFixed(2) : '-'} s) after the last chunk before a cut`)
  }
} finally {
  for (const p of procs) if (p.exitCode == null) p.kill('SIGTERM')
  await new Promise(resolve => setTimeout(resolve, 500))
  rmSync(dir, { recursive: true, force: true })
}
