#!/usr/bin/env node
// Compiles the tests (tsconfig.test.json → build/) and runs every build/test/**/*.test.js
// with node's test runner. Tests that need root and network namespaces skip themselves
// outside CI with a printed reason; under CI=true they must run. The spec reporter prints
// the summary and repeats the failures at the end; the exit code is the runner's (non-zero
// when a test fails, 1 when the runner itself was killed).
//
// Test files run side by side, FILESHARE_TEST_CONCURRENCY at a time (default: one more than
// the CPU cores, at most 4; 1 runs them one after the other). They can: each file is its own
// process, with its own temporary folders, ports the kernel picks (tcp/0), its own network
// namespaces (test/nat, FILESHARE_NATLAB_PREFIX) and browser profile (test/web); nothing in
// a file waits for another. The slowest files start first (SLOW_FIRST), so that the run is
// not left waiting for one long file at its end; the runner still prints each file's results
// together, in the order the files were given. test-file-times.mjs lists the slowest files
// at the end.
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, statSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
rmSync(join(root, 'build'), { recursive: true, force: true })
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')], { stdio: 'inherit' })

function find (dir) {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? find(path) : (path.endsWith('.test.js') ? [path] : [])
  })
}

/**
 * Files that take longest (about 30 s or more alone on 2 cores), longest first; the rest
 * follow in path order. Update from the list test-file-times.mjs prints.
 */
const SLOW_FIRST = [
  'nat/natlab',
  'integration/swarm-partial',
  'integration/cli.test',
  'integration/swarm-download',
  'hostile/sybil-providers',
  'web/web',
  'integration/cli-finished',
  'integration/cli-edges',
  'web/api',
  'integration/swarm-processes',
  'integration/live-folder'
]
const rank = file => {
  const i = SLOW_FIRST.findIndex(s => file.includes(`/build/test/${s}`))
  return i < 0 ? SLOW_FIRST.length : i
}

const only = process.argv.slice(2)
const files = find(join(root, 'build/test'))
  .filter(f => only.length === 0 || only.some(o => f.includes(o)))
  .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
if (files.length === 0) {
  // `node --test` without files would look for tests by itself and could pass on none
  console.error(`no test file matches ${only.join(', ')}`)
  process.exit(1)
}
const concurrency = Number(process.env.FILESHARE_TEST_CONCURRENCY ?? Math.min(availableParallelism() + 1, 4))
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`FILESHARE_TEST_CONCURRENCY must be a whole number of at least 1, not ${process.env.FILESHARE_TEST_CONCURRENCY}`)
  process.exit(2)
}
const result = spawnSync(process.execPath, [
  '--test', `--test-concurrency=${concurrency}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts/test-file-times.mjs')}`, '--test-reporter-destination=stdout',
  ...files
], { stdio: 'inherit', cwd: root })
process.exit(result.status ?? 1)
