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
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { mb: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } } })
const MB = Number(values.mb)
const RUNS = Number(values.runs)
const root = new URL('../..', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'fileshare-bench-relay-'))
const procs = []

function start (script, args) {
  const child = spawn(process.execPath, [join(root, 'dist', script), ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] })
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
  return { child, events, event, exited }
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

  const master = start('master.js', ['--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'master')])
  const masterAddr = (await master.event('ready')).addrs[0]
  const direct = start('peer.js', ['--share', share, '--master', masterAddr, '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'p-direct')])
  const relayed = start('peer.js', ['--share', share, '--master', masterAddr, '--config', quiet, '--data', join(dir, 'p-relayed')])
  const d = await direct.event('ready')
  const r = await relayed.event('ready')
  if (r.reachability !== 'relayed') throw new Error(`relay-only provider is ${r.reachability}`)
  const id = execFileSync(process.execPath, [join(root, 'dist/peer.js'), 'search', 'bench', '--master', masterAddr, '--json'], { encoding: 'utf8' })
    .split('\n').filter(Boolean).map(l => JSON.parse(l)).find(e => e.event === 'result').id
  const from = {
    direct: d.addrs.find(a => a.startsWith('/ip4/127.0.0.1/tcp/')),
    relayed: r.reachableAddrs[0]
  }
  const results = { direct: [], relayed: [] }
  for (let run = 0; run < RUNS; run++) {
    for (const kind of ['direct', 'relayed']) {
      const out = join(dir, `out-${kind}-${run}`)
      const get = start('peer.js', ['get', id, '--from', from[kind], '--out', out, '--config', quiet])
      const done = await get.event('done')
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
  for (const p of procs) if (p.exitCode == null) p.kill('SIGTERM')
  await new Promise(resolve => setTimeout(resolve, 500))
  rmSync(dir, { recursive: true, force: true })
}
