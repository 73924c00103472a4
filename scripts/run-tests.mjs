#!/usr/bin/env node
// Compiles the tests (tsconfig.test.json → build/) and runs every build/test/**/*.test.js
// with node's test runner. Tests that need root and network namespaces skip themselves
// outside CI with a printed reason; under CI=true they must run. The spec reporter prints
// the summary and repeats the failures at the end; the exit code is the runner's (non-zero
// when a test fails, 1 when the runner itself was killed).
import { execFileSync, spawnSync } from 'node:child_process'
import { readdirSync, statSync, rmSync } from 'node:fs'
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

const only = process.argv.slice(2)
const files = find(join(root, 'build/test')).filter(f => only.length === 0 || only.some(o => f.includes(o))).sort()
if (files.length === 0) {
  // `node --test` without files would look for tests by itself and could pass on none
  console.error(`no test file matches ${only.join(', ')}`)
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root })
process.exit(result.status ?? 1)
