#!/usr/bin/env node
// Relayed vs direct download throughput, measured in one run on 127.0.0.1.
//
//   npm run build && node scripts/bench/relay.mjs [--mb 256] [--runs 3]
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

const { values } = parseArgs({ options: { mb: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } } })
const MB = Number(values.mb)
const RUNS = Number(values.runs)
const dir = mkdtempSync(join(tmpdir(), 'fileshare-bench-relay-'))

/** `node SCRIPT ARGS --json`, its stderr shown */
const start = (script, args) => startProcess([script, ...args, '--json'], { stderr: 'inherit' })

try {
  const share = join(dir, 'share')
  mkdirSync(share)
  const fd = openSync(join(share, 'bench.bin'), 'w')
  for (let i = 0; i < MB; i++) writeSync(fd, randomBytes(1024 * 1024))
  closeSync(fd)
  const quiet = join(dir, 'no-listen.json')
  writeFileSync(quiet, JSON.stringify({ listen: [], reachability: 'relayed' }))

  const master = start(MASTER_JS, ['--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'master')])
  const masterAddr = (await master.next('ready')).addrs[0]
  const direct = start(PEER_JS, ['--share', share, '--master', masterAddr, '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'p-direct')])
  const relayed = start(PEER_JS, ['--share', share, '--master', masterAddr, '--config', quiet, '--data', join(dir, 'p-relayed')])
  const d = await direct.next('ready')
  const r = await relayed.next('ready')
  if (r.reachability !== 'relayed') throw new Error(`relay-only provider is ${r.reachability}`)
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
  for (let run = 0; run < RUNS; run++) {
    for (const kind of ['direct', 'relayed']) {
      const out = join(dir, `out-${kind}-${run}`)
      const get = start(PEER_JS, ['get', id, '--from', from[kind], '--out', out, '--config', quiet])
      const done = await get.next('done')
      await get.exited
      if (done.providers[0].path !== kind) throw new Error(`${kind} run went ${done.providers[0].path}`)
      const mbps = done.bytes / 1e6 / done.seconds
      results[kind].push(mbps)
      console.log(`run ${run + 1} ${kind.padEnd(7)} ${mbps.toFixed(0).padStart(5)} MB/s (${done.seconds.toFixed(2)} s)`)
      rmSync(out, { recursive: true, force: true })
    }
  }
  const md = median(results.direct)
  const mr = median(results.relayed)
  console.log(`\n${MB} MiB, ${RUNS} runs each, medians: direct ${md.toFixed(0)} MB/s, relayed ${mr.toFixed(0)} MB/s, relayed/direct = ${(mr / md).toFixed(2)}`)
} finally {
  await stopAll('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}
