#!/usr/bin/env node
// One seeder, N concurrent downloaders (real processes on 127.0.0.1, issue 4): the
// seeder's peak memory stays bounded, and a --max-uploads cap below N makes the others
// hear BUSY, back off and come back (every download still completes).
//
//   node scripts/bench/many-downloaders.mjs [--size MiB] [--downloaders N] [--caps 32,4]
//
// Prints, per cap: wall time until all downloads are done, the seeder's RSS before and
// its peak (VmHWM) during the downloads, and how many provider-dropped events said BUSY
// (a BUSY answer to the name lookup of `get NAME --from` is retried without an event).
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { size: { type: 'string', default: '32' }, downloaders: { type: 'string', default: '20' }, caps: { type: 'string', default: '32,4' } } })
const SIZE = Number(values.size) * 1024 * 1024
const N = Number(values.downloaders)
const root = new URL('../..', import.meta.url).pathname
const PEER = join(root, 'dist/peer.js')
const tmp = mkdtempSync(join(tmpdir(), 'fileshare-many-'))
const children = []
process.on('exit', () => {
  for (const c of children) if (c.exitCode == null) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

function run (args, onEvent) {
  const child = spawn(process.execPath, [PEER, ...args, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] })
  children.push(child)
  createInterface({ input: child.stdout }).on('line', line => onEvent(JSON.parse(line)))
  return new Promise(resolve => child.on('exit', code => resolve(code)))
}

const kib = (pid, field) => Number(/(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith(field)))[1])

const share = join(tmp, 'share')
mkdirSync(share)
writeFileSync(join(share, 'bench.bin'), randomBytes(SIZE))
// every downloader comes from 127.0.0.1: lift the per-IP upload slot limit so --max-uploads is what caps them
const config = join(tmp, 'seeder.json')
writeFileSync(config, JSON.stringify({ maxUploadsPerIp: 1000 }))
console.log(`many-downloaders: one seeder, ${N} concurrent get processes, ${SIZE / 1048576} MiB each (127.0.0.1)`)
for (const cap of values.caps.split(',').map(Number)) {
  let ready
  const readyP = new Promise(resolve => { ready = resolve })
  const seederExit = run(['--share', share, '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(tmp, `seed-${cap}`), '--max-uploads', String(cap), '--config', config], e => { if (e.event === 'ready') ready(e) })
  const seeder = children.at(-1)
  const info = await readyP
  const from = info.addrs[0].includes('/p2p/') ? info.addrs[0] : `${info.addrs[0]}/p2p/${info.peerId}`
  const before = kib(seeder.pid, 'VmRSS')
  let busy = 0
  const errors = []
  const started = Date.now()
  const codes = await Promise.all(Array.from({ length: N }, (_, i) =>
    run(['get', 'bench.bin', '--from', from, '--out', join(tmp, `out-${cap}-${i}`)], e => { if (e.event === 'provider-dropped' && /BUSY/.test(e.reason)) busy++; if (e.event === 'error' || e.event === 'provider-dropped') errors.push(e.message ?? e.reason) })))
  const wall = (Date.now() - started) / 1000
  const peak = kib(seeder.pid, 'VmHWM')
  const ok = codes.filter(c => c === 0).length
  console.log(`--max-uploads ${String(cap).padStart(2)}: ${ok}/${N} downloads ok in ${wall.toFixed(1)} s, seeder RSS ${(before / 1024).toFixed(0)} MiB before, peak ${(peak / 1024).toFixed(0)} MiB, provider-dropped BUSY events ${busy}`)
  if (process.env.VERBOSE) console.log([...new Set(errors)].join("\n"))
  seeder.kill('SIGTERM')
  await seederExit
  for (let i = 0; i < N; i++) rmSync(join(tmp, `out-${cap}-${i}`), { recursive: true, force: true })
}
process.exit(0)
