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
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { start as startProcess, runToEnd, stopAll, median, MASTER_JS, PEER_JS } from './lib.mjs'

const { values } = parseArgs({ options: { mb: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' }, 'data-limit': { type: 'string' }, only: { type: 'string' } } })
const KINDS = values.only != null ? values.only.split(',') : ['direct', 'relayed']
const MB = Number(values.mb)
const RUNS = Number(values.runs)
const dir = mkdtempSync(join(tmpdir(), 'fileshare-bench-relay-'))

/** `node SCRIPT ARGS --json`, its stderr shown */
const start = (script, args) => startProcess([script, ...args, '--json'], { stderr: 'inherit' })

/** A `get` with the download's debug log, all of it kept (renewals, cuts, chunk times). */
function startGet (args) {
  const before = process.env.DEBUG
  process.env.DEBUG = before ?? 'fileshare:peer:download,fileshare:peer:download:trace'
  const p = startProcess([PEER_JS, ...args, '--json'], { stderr: 'pipe' })
  if (before == null) delete process.env.DEBUG
  else process.env.DEBUG = before
  let log = ''
  p.child.stderr.on('data', d => { log += d })
  return { ...p, log: () => log }
}

/** The longest pause between two chunks of a download (ms), from its debug log. */
function longestPause (log) {
  let last = null
  let longest = 0
  for (const line of log.split('\n')) {
    if (!/fileshare:peer:download:trace chunk \d+ from/.test(line)) continue
    const at = Date.parse(line.slice(0, 24))
    if (Number.isNaN(at)) continue
    if (last != null) longest = Math.max(longest, at - last)
    last = at
  }
  return longest
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
  const master = start(MASTER_JS, masterArgs)
  const masterAddr = (await master.next('ready')).addrs[0]
  const direct = start(PEER_JS, ['--share', share, '--master', masterAddr, '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'p-direct')])
  const relayed = start(PEER_JS, ['--share', share, '--master', masterAddr, '--config', quiet, '--data', join(dir, 'p-relayed')])
  const d = await direct.next('ready')
  let r = await relayed.next('ready')
  if (r.reachability !== 'relayed') {
    // a first reservation may race the master's identify of the peer: it retries
    const back = await Promise.race([relayed.next(e => e.event === 'reachability' && e.reachability === 'relayed'), new Promise(resolve => setTimeout(resolve, 30_000))])
    if (back == null) throw new Error(`relay-only provider is ${r.reachability}`)
    r = { ...r, reachableAddrs: back.addrs }
  }
  // `ready` comes before the master has the file list: search until it is there
  let id
  for (let tries = 0; id == null; tries++) {
    if (tries === 50) throw new Error('the providers never registered their file')
    if (tries > 0) await new Promise(resolve => setTimeout(resolve, 200))
    id = (await runToEnd([PEER_JS, 'search', 'bench', '--master', masterAddr, '--json'])).events.find(e => e.event === 'result')?.id
  }
  const from = {
    direct: d.addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/')),
    relayed: r.reachableAddrs[0]
  }
  const results = { direct: [], relayed: [] }
  const cutsPerRun = []
  for (let run = 0; run < RUNS; run++) {
    for (const kind of KINDS) {
      const out = join(dir, `out-${kind}-${run}`)
      const get = startGet(['get', id, '--from', from[kind], '--out', out, '--config', quiet])
      const done = await get.next('done')
      await get.exited
      if (done.providers[0].path !== kind) throw new Error(`${kind} run went ${done.providers[0].path}`)
      const mbps = done.bytes / 1e6 / done.seconds
      results[kind].push(mbps)
      const cuts = (get.log().match(/connection to \S+ lost/g) ?? []).length
      const renewals = (get.log().match(/renewed on /g) ?? []).length
      const gaps = cutGaps(get.log())
      const pause = longestPause(get.log())
      if (kind === 'relayed') cutsPerRun.push({ cuts, renewals, seconds: done.seconds, gaps, pause })
      console.log(`run ${run + 1} ${kind.padEnd(7)} ${mbps.toFixed(0).padStart(5)} MB/s (${done.seconds.toFixed(2)} s)${kind === 'relayed' ? `, ${renewals} relayed connection(s) renewed before the limit, ${cuts} cut(s), longest pause between chunks ${(pause / 1000).toFixed(2)} s${gaps.length > 0 ? `, chunks again ${gaps.map(g => (g / 1000).toFixed(2)).join('/')} s after each` : ''}` : ''}`)
      rmSync(out, { recursive: true, force: true })
    }
  }
  const md = median(results.direct)
  const mr = median(results.relayed)
  if (Number.isFinite(md) && Number.isFinite(mr)) console.log(`\n${MB} MiB, ${RUNS} runs each, medians: direct ${md.toFixed(0)} MB/s, relayed ${mr.toFixed(0)} MB/s, relayed/direct = ${(mr / md).toFixed(2)}`)
  else if (Number.isFinite(mr)) console.log(`\n${MB} MiB, ${RUNS} runs, median relayed ${mr.toFixed(0)} MB/s`)
  if (values['data-limit'] != null && cutsPerRun.length > 0) {
    const allGaps = cutsPerRun.flatMap(c => c.gaps)
    console.log(`relay.dataLimit ${values['data-limit']} MiB: median ${median(cutsPerRun.map(c => c.renewals))} renewals and ${median(cutsPerRun.map(c => c.cuts))} cuts per download, median ${median(cutsPerRun.map(c => c.seconds)).toFixed(2)} s, longest pause between two chunks ${(Math.max(...cutsPerRun.map(c => c.pause)) / 1000).toFixed(2)} s${allGaps.length > 0 ? `; chunks flowed again a median ${(median(allGaps) / 1000).toFixed(2)} s (max ${(Math.max(...allGaps) / 1000).toFixed(2)} s) after the last chunk before a cut` : ''}`)
  }
} finally {
  await stopAll('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}
