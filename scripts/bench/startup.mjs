#!/usr/bin/env node
// Start-up time of the peer command, before/after: `node scripts/bench/startup.mjs OLD_DIST [NEW_DIST] [RUNS]`.
// Runs alternate between the two builds (the machine may be loaded: both see the same load)
// and the median and quartiles of each are printed. Cases: --help, and a search against a
// closed port (module loading + node start + one refused dial; no master needed).
import { spawnSync } from 'node:child_process'
import { join, resolve } from 'node:path'

const [oldDist, newDist = 'dist', runsText = '15'] = process.argv.slice(2)
if (oldDist == null) {
  console.error('usage: node scripts/bench/startup.mjs OLD_DIST [NEW_DIST] [RUNS]')
  process.exit(2)
}
const runs = Number(runsText)
const peerId = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'
const cases = {
  help: ['--help'],
  'get --help': ['get', '--help'],
  'search (refused dial)': ['search', 'x', '--master', `/ip4/127.0.0.1/tcp/1/p2p/${peerId}`]
}

function time (dist, args) {
  const start = process.hrtime.bigint()
  spawnSync(process.execPath, [join(resolve(dist), 'peer.js'), ...args], { stdio: 'ignore', env: { ...process.env, FILESHARE_MASTER: '' } })
  return Number(process.hrtime.bigint() - start) / 1e6
}

function stats (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const q = p => s[Math.min(s.length - 1, Math.floor(p * s.length))]
  return `median ${q(0.5).toFixed(0)} ms (q1 ${q(0.25).toFixed(0)}, q3 ${q(0.75).toFixed(0)})`
}

for (const [name, args] of Object.entries(cases)) {
  const before = []
  const after = []
  for (let i = 0; i < runs; i++) {
    before.push(time(oldDist, args))
    after.push(time(newDist, args))
  }
  console.log(`${name.padEnd(24)} before: ${stats(before)}   after: ${stats(after)}`)
}
