import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from '../helpers/swarm.js'
import { ResumeState, readResumeState, statePathFor, hasBit } from '../../src/peer/download/resume-state.js'
import { isInternalName } from '../../src/peer/share/scanner.js'

describe('resume state', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  const meta = { id: 'fsabc', size: 10 * 1024 * 1024 + 1, chunkSize: 1024 * 1024, chunks: 11 }
  before(async () => { dir = await tempDir() })
  after(async () => { await dir.cleanup() })

  it('is named so that share scanners ignore it', () => {
    const path = statePathFor('/x/.movie.mkv.0123456789abcdef.part')
    assert.equal(path, '/x/.movie.mkv.0123456789abcdef.state.part')
    assert.ok(isInternalName('.movie.mkv.0123456789abcdef.state.part'))
  })

  it('round-trips the verified chunks and rejects damaged or foreign state', () => {
    const path = join(dir.path, '.f.0123.state.part')
    const state = new ResumeState(path, meta)
    state.set(0)
    state.set(10)
    state.flush()
    const bits = readResumeState(path, meta)
    assert.ok(bits != null)
    assert.deepEqual([...Array(11).keys()].filter(i => hasBit(bits, i)), [0, 10])
    assert.equal(readResumeState(path, { ...meta, id: 'fsother' }), null, 'another download')
    assert.equal(readResumeState(path, { ...meta, size: meta.size + 1 }), null, 'another size')
    const text = JSON.parse(readFileSync(path, 'utf8'))
    writeFileSync(path, JSON.stringify({ ...text, chunks: Buffer.from([0xff, 0x07]).toString('base64') }))
    assert.equal(readResumeState(path, meta), null, 'bitfield changed without its checksum')
    writeFileSync(path, '{"version":1,')
    assert.equal(readResumeState(path, meta), null, 'truncated')
    assert.equal(readResumeState(join(dir.path, 'missing'), meta), null)
    state.remove()
    assert.ok(!existsSync(path))
  })
})
