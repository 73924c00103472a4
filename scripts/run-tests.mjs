#!/usr/bin/env node
// Compiles the tests (tsconfig.test.json → build/) and runs every build/test/**/*.test.js,
// each file in its own node process with node's test runner and its spec reporter. Tests
// that need root and network namespaces skip themselves outside CI with a printed reason;
// under CI=true they must run. Exit code: 0 when every file passed, 1 otherwise.
//
// Files run side by side, FILESHARE_TEST_CONCURRENCY at a time (default: one more than the
// CPU cores, at most 4; 1 runs them one after the other). They can: every file uses its own
// temporary folders, ports the kernel picks (tcp/0), network namespaces of its own
// (test/nat, FILESHARE_NATLAB_PREFIX) and its own browser profile (test/web), and no file
// waits for another. The slowest files start first (SLOW_FIRST), so that the run does not
// end waiting for one long file. Each file's output is printed in one piece when it ends;
// the summary at the end adds up the counts, repeats the failures and lists the slowest files.
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, statSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
rmSync(join(root, 'build'), { recursive: true, force: true })
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')], { stdio: 'inherit' })
const testRoot = join(root, 'build/test')

function find (dir) {
  return readdirSync(dir).flatMap(name => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? find(path) : (path.endsWith('.test.js') ? [path] : [])
  })
}

/**
 * The files that take longest (15 s or more alone on 2 cores), longest first; the rest
 * follow in path order. The summary's list of the slowest files tells when this needs an update.
 */
const SLOW_FIRST = [
  'nat/natlab',
  'integration/cli.test',
  'integration/swarm-partial',
  'integration/swarm-download',
  'hostile/sybil-providers',
  'web/web',
  'integration/cli-edges',
  'integration/cli-finished',
  'web/api',
  'integration/live-folder',
  'hostile/terminal-escapes',
  'integration/failures',
  'hostile/relay-abuse',
  'integration/swarm-processes',
  'integration/liveness',
  'hostile/stranger-growth',
  'hostile/idle-connections',
  'hostile/upload-slots'
]
const rank = file => {
  const i = SLOW_FIRST.findIndex(s => relative(testRoot, file).startsWith(s))
  return i < 0 ? SLOW_FIRST.length : i
}

const only = process.argv.slice(2)
const files = find(testRoot)
  .filter(f => only.length === 0 || only.some(o => f.includes(o)))
  .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
if (files.length === 0) {
  // an empty run would pass on no test at all
  console.error(`no test file matches ${only.join(', ')}`)
  process.exit(1)
}
const concurrency = Number(process.env.FILESHARE_TEST_CONCURRENCY ?? Math.min(availableParallelism() + 1, 4))
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`FILESHARE_TEST_CONCURRENCY must be a whole number of at least 1, not ${process.env.FILESHARE_TEST_CONCURRENCY}`)
  process.exit(2)
}

// Node 22's compile cache for the test files too (the dist entry points turn it on for
// themselves: src/cli/compile-cache.ts); Node 20 ignores it
const env = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'node-compile-cache') }

/** Runs one test file to its end; resolves with its exit code, output (stdout and stderr as they came) and wall time. */
async function runFile (file) {
  const started = Date.now()
  const child = spawn(process.execPath, ['--test-reporter=spec', '--test-reporter-destination=stdout', file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', text => { output += text })
  child.stderr.setEncoding('utf8').on('data', text => { output += text })
  const code = await new Promise(resolve => child.on('close', (exit, signal) => { resolve(exit ?? signal) }))
  return { file: relative(testRoot, file), code, output, ms: Date.now() - started }
}

const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo']
const totals = Object.fromEntries(COUNTS.map(k => [k, 0]))
const results = []
const started = Date.now()
const queue = [...files]
await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, async () => {
  for (let file = queue.shift(); file != null; file = queue.shift()) {
    const r = await runFile(file)
    results.push(r)
    process.stdout.write(`\n── ${r.file} (${(r.ms / 1000).toFixed(1)} s${r.code === 0 ? '' : `, exit ${r.code}`})\n${r.output}`)
    // the spec reporter ends with its counts: "ℹ tests 12", "ℹ pass 12", …
    for (const k of COUNTS) totals[k] += Number(new RegExp(`^ℹ ${k} (\\d+)$`, 'm').exec(r.output)?.[1] ?? 0)
  }
}))

const failed = results.filter(r => r.code !== 0)
process.stdout.write(`\n── summary: ${files.length} files, ${concurrency} at a time\n`)
for (const k of COUNTS) process.stdout.write(`ℹ ${k} ${totals[k]}\n`)
process.stdout.write(`ℹ duration_ms ${Date.now() - started}\n`)
process.stdout.write('ℹ slowest files:\n')
for (const r of [...results].sort((a, b) => b.ms - a.ms).slice(0, 10)) process.stdout.write(`ℹ   ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.file}\n`)
for (const r of failed) {
  // the spec reporter's own list of the failures, or the whole output when it has none (a crash)
  const at = r.output.lastIndexOf('✖ failing tests:')
  process.stdout.write(`\n✖ ${r.file} failed (exit ${r.code}):\n${at >= 0 ? r.output.slice(at) : r.output}`)
}
process.exit(failed.length === 0 ? 0 : 1)
