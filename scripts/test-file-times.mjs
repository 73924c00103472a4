// A node:test reporter (used by run-tests.mjs beside the spec reporter): at the end, the
// slowest test files with their wall time (each file runs in its own process), so that a
// file that grows slow is seen, and run-tests.mjs can start the slow ones first.
import { resolve } from 'node:path'

const SHOWN = 10

export default async function * testFileTimes (source) {
  const times = new Map()
  for await (const event of source) {
    // a file's own test: nesting 0, named by its path (absolute on Node 20, relative on 22)
    if (event.type !== 'test:complete' || event.data.nesting !== 0 || event.data.file == null) continue
    if (resolve(event.data.name) !== resolve(event.data.file)) continue
    times.set(event.data.file, event.data.details.duration_ms)
  }
  if (times.size < 2) return
  const slowest = [...times].sort((a, b) => b[1] - a[1]).slice(0, SHOWN)
  const total = [...times.values()].reduce((sum, ms) => sum + ms, 0)
  yield `ℹ slowest test files (of ${times.size}, ${(total / 1000).toFixed(0)} s in all):\n`
  for (const [file, ms] of slowest) yield `ℹ   ${(ms / 1000).toFixed(1).padStart(6)} s  ${file.replace(/^.*\/build\/test\//, '')}\n`
}
