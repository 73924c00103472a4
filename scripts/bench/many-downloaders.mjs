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
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { start, withPeerId, PEER_JS as PEER } from './lib.mjs'

const { values } = parseArgs({ options: { size: { type: 'string', default: '32' }, downloaders: { type: 'string', default: '20' }, caps: { type: 'string', default: '32,4' } } })
const SIZE = Number(values.size) * 1024 * 1024
const N = Number(values.downloaders)
const tmp = mkdtempSync(join(tmpdir(), 'fileshare-many-'))
// the processes still running are SIGKILLed by lib.mjs on exit
process.on('exit', () => { rmSync(tmp, { recursive: true, force: true }) })

/** `node dist/peer.js ARGS --json` */
const run = args => start([PEER, ...args, '--json'], { stderr: 'ignore' })

const kib = (pid, field) => Number(/(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith(field)))[1])

const share = join(tmp, 'share')
mkdirSync(share)
writeFileSync(join(share, 'bench.bin'), randomBytes(SIZE))
// every downloader comes from 127.0.0.1: lift the per-IP upload slot limit so --max-uploads is what caps them
const config = join(tmp, 'seeder.json')
writeFileSync(config, JSON.stringify({ maxUploadsPerIp: 1000 }))
console.log(`many-downloaders: one seeder, ${N} concurrent get processes, ${SIZE / 1048576} MiB each (127.0.0.1)`)
for (const cap of values.caps.split(',').map(Number)) {
  const seeder = run(['--share', share, '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(tmp, `seed-${cap}`), '--max-uploads', String(cap), '--config', config])
  const info = await seeder.next('ready')
  const from = withPeerId(info.addrs[0], info.peerId)
  const before = kib(seeder.child.pid, 'VmRSS')
  let busy = 0
  const errors = []
  const started = Date.now()
  const codes = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const get = run(['get', 'bench.bin', '--from', from, '--out', join(tmp, `out-${cap}-${i}`)])
    const code = await get.exited
    for (const e of get.events) {
      if (e.event === 'provider-dropped' && /BUSY/.test(e.reason)) busy++
      if (e.event === 'error' || e.event === 'provider-dropped') errors.push(e.message ?? e.reason)
    }
    return code
  }))
  const wall = (Date.now() - started) / 1000
  const peak = kib(seeder.child.pid, 'VmHWM')
  const ok = codes.filter(c => c === 0).length
  console.log(`--max-uploads ${String(cap).padStart(2)}: ${ok}/${N} downloads ok in ${wall.toFixed(1)} s, seeder RSS ${(before / 1024).toFixed(0)} MiB before, peak ${(peak / 1024).toFixed(0)} MiB, provider-dropped BUSY events ${busy}`)
  if (process.env.VERBOSE) console.log([...new Set(errors)].join('\n'))
  await seeder.stop('SIGTERM')
  for (let i = 0; i < N; i++) rmSync(join(tmp, `out-${cap}-${i}`), { recursive: true, force: true })
}
process.exit(0)
