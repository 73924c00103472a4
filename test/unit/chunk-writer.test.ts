import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { openSync, closeSync, readFileSync, ftruncateSync } from 'node:fs'
import { join } from 'node:path'
import { ChunkWriter } from '../../src/peer/download/chunk-writer.js'
import { tempDir } from '../helpers/swarm.js'

const sha = (b: Uint8Array): Uint8Array => createHash('sha256').update(b).digest()

describe('ChunkWriter (verification and writes on a worker thread)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  before(async () => { dir = await tempDir() })
  after(async () => { await dir.cleanup() })

  it('writes a chunk whose hash matches at its position, and nothing when it does not', async () => {
    const path = join(dir.path, 'part')
    const fd = openSync(path, 'w+')
    ftruncateSync(fd, 3 * 1000)
    const writer = new ChunkWriter()
    try {
      const a = randomBytes(1000)
      const b = randomBytes(1000)
      const expectedB = Buffer.from(b)
      // an owned buffer (moved to the thread) and a view into a larger one (copied)
      assert.equal(await writer.verifyAndWrite(fd, 1000, new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + 1000)), sha(b)), true)
      const big = randomBytes(5000)
      const view = big.subarray(100, 1100)
      assert.equal(await writer.verifyAndWrite(fd, 0, view, sha(view)), true)
      assert.equal(view.length, 1000, 'a view is copied, not detached')
      assert.equal(await writer.verifyAndWrite(fd, 2000, a, sha(randomBytes(10))), false)
      const content = readFileSync(path)
      assert.deepEqual(content.subarray(0, 1000), Buffer.from(view))
      assert.deepEqual(content.subarray(1000, 2000), expectedB)
      assert.ok(content.subarray(2000).every(x => x === 0), 'a chunk that failed verification is not written')
    } finally {
      await writer.close()
      closeSync(fd)
    }
  })

  it('reports a write error as IO and refuses work after close', async () => {
    const writer = new ChunkWriter()
    const data = randomBytes(100)
    await assert.rejects(writer.verifyAndWrite(987654, 0, data, sha(data)), { code: 'IO' })
    await writer.close()
    await assert.rejects(writer.verifyAndWrite(987654, 0, randomBytes(10), new Uint8Array(32)), { code: 'ABORTED' })
  })
})
