#!/usr/bin/env node
// Multi-source benchmark (issue 4): three seeders, each limited to the same upload rate
// with tc tbf in its own network namespace, against one seeder of the same rate.
// Needs root, iproute2 (ip, tc) and a built dist/ (npm run build).
//
//   sudo node scripts/bench/multi-source.mjs [--size MiB] [--rate mbit] [--rounds N]
//
// Topology (namespaces prefixed "ms-"; nothing touches the host's interfaces):
//   ms-sw: bridge br0, 10.77.0.0/24, no uplink
//   ms-d  10.77.0.10  master + downloader (unshaped)
//   ms-s1 10.77.0.11, ms-s2 10.77.0.12, ms-s3 10.77.0.13  seeders, egress: tbf RATE
// Rounds alternate: single (get --from seeder 1) and multi (get through the master, all
// three seeders). Prints each time, the medians and the speed-up multi vs single.
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { start as startProcess, runToEnd, stopAll, median, withPeerId, netnsStar, MASTER_JS as MASTER, PEER_JS as PEER } from './lib.mjs'

const { values } = parseArgs({ options: { size: { type: 'string', default: '64' }, rate: { type: 'string', default: '80' }, rounds: { type: 'string', default: '3' } } })
const SIZE = Number(values.size) * 1024 * 1024
const RATE = `${Number(values.rate)}mbit`
const ROUNDS = Number(values.rounds)
const IP = { 'ms-d': '10.77.0.10', 'ms-s1': '10.77.0.11', 'ms-s2': '10.77.0.12', 'ms-s3': '10.77.0.13' }

if (process.getuid?.() !== 0) {
  console.error('multi-source bench: needs root (network namespaces and tc)')
  process.exit(1)
}

const star = netnsStar({ hub: 'ms-sw', ips: IP, shaped: ns => ns !== 'ms-d', rate: RATE })

/** SIGKILLs the nodes (synchronously: also runs on exit) and removes the namespaces. */
function down () {
  void stopAll('SIGKILL')
  star.down()
}

/** Starts `node script args… --json` in a namespace; resolves with its `ready` event. */
async function start (ns, script, args) {
  return await startProcess([script, ...args, '--json'], { wrap: ['ip', 'netns', 'exec', ns], stderr: 'inherit' }).next('ready', `ready of ${script} in ${ns}`)
}

/** Runs one get in ms-d; returns the done event. */
async function get (args) {
  const p = startProcess([PEER, 'get', ...args, '--json'], { wrap: ['ip', 'netns', 'exec', 'ms-d'], stderr: 'inherit' })
  const code = await p.exited
  const done = p.events.find(e => e.event === 'done')
  if (code !== 0 || done == null) throw new Error(`get exited ${code}`)
  return done
}

const tmp = mkdtempSync(join(tmpdir(), 'fileshare-ms-bench-'))
process.on('exit', () => { down(); rmSync(tmp, { recursive: true, force: true }) })
process.on('SIGINT', () => process.exit(130))

try {
  down()
  star.up()
  const file = join(tmp, 'bench.bin')
  writeFileSync(file, randomBytes(SIZE))
  const master = await start('ms-d', MASTER, ['--listen', `/ip4/${IP['ms-d']}/tcp/0`, '--data', join(tmp, 'master')])
  const masterAddr = master.addrs[0]
  const seeders = []
  for (const ns of ['ms-s1', 'ms-s2', 'ms-s3']) {
    const share = join(tmp, `share-${ns}`)
    mkdirSync(share)
    copyFileSync(file, join(share, 'bench.bin'))
    seeders.push(await start(ns, PEER, ['--share', share, '--master', masterAddr, '--listen', `/ip4/${IP[ns]}/tcp/0`, '--data', join(tmp, `data-${ns}`)]))
  }
  // `ready` comes before the master has the file lists: search until all three provide it
  for (let tries = 0; ; tries++) {
    const search = await runToEnd([PEER, 'search', 'bench', '--master', masterAddr, '--json'], { wrap: ['ip', 'netns', 'exec', 'ms-d'] })
    if (search.events.find(e => e.event === 'result')?.providers === 3) break
    if (tries === 50) throw new Error('the seeders never registered their file')
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  const single = []
  const multi = []
  console.log(`multi-source: ${SIZE / 1048576} MiB, each seeder's upload limited to ${RATE} (tc tbf), ${ROUNDS} rounds`)
  for (let r = 0; r < ROUNDS; r++) {
    const from = withPeerId(seeders[0].addrs[0], seeders[0].peerId)
    const a = await get(['bench.bin', '--from', from, '--out', join(tmp, `out-1-${r}`)])
    single.push(a.seconds)
    const b = await get(['bench.bin', '--master', masterAddr, '--out', join(tmp, `out-3-${r}`)])
    multi.push(b.seconds)
    const used = b.providers.filter(p => p.bytes > 0).map(p => `${(p.bytes / 1048576).toFixed(0)}`).join('/')
    console.log(`round ${r + 1}: one seeder ${a.seconds.toFixed(2)} s (${(SIZE / 1e6 / a.seconds).toFixed(1)} MB/s), three seeders ${b.seconds.toFixed(2)} s (${(SIZE / 1e6 / b.seconds).toFixed(1)} MB/s, MiB per seeder ${used}), speed-up ${(a.seconds / b.seconds).toFixed(2)}x`)
    rmSync(join(tmp, `out-1-${r}`), { recursive: true, force: true })
    rmSync(join(tmp, `out-3-${r}`), { recursive: true, force: true })
  }
  const s = median(single)
  const m = median(multi)
  console.log(`median: one seeder ${s.toFixed(2)} s, three seeders ${m.toFixed(2)} s, speed-up ${(s / m).toFixed(2)}x (target >= 2.5x)`)

  // a slow third seeder (a quarter of the rate): the ideal is 2.25 seeders' worth; without
  // endgame copies the slow seeder's last chunks would hold up the end
  const slowRate = `${Number(values.rate) / 4}mbit`
  star.reshape('ms-s3', slowRate)
  const mixed = []
  for (let r = 0; r < ROUNDS; r++) {
    const c = await get(['bench.bin', '--master', masterAddr, '--out', join(tmp, `out-mixed-${r}`)])
    mixed.push(c.seconds)
    const used = c.providers.map(p => `${(p.bytes / 1048576).toFixed(0)}`).join('/')
    console.log(`mixed round ${r + 1}: two seeders at ${RATE} + one at ${slowRate}: ${c.seconds.toFixed(2)} s (MiB per seeder ${used})`)
    rmSync(join(tmp, `out-mixed-${r}`), { recursive: true, force: true })
  }
  const x = median(mixed)
  console.log(`median mixed: ${x.toFixed(2)} s = ${(s / x).toFixed(2)}x one seeder (ideal 2.25x)`)
} finally {
  down()
}
process.exit(0)
