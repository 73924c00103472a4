import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { appendFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { hashFile } from '../../src/content/hash-file.js'
import { manifestRoot, chunkHash, formatContentId } from '../../src/content/content-id.js'
import { CHUNK_SIZE } from '../../src/content/constants.js'
import { tempDir, writeRandomFile } from '../helpers/swarm.js'

describe('hashFile', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  before(async () => { dir = await tempDir() })
  after(async () => { await dir.cleanup() })

  it('matches an independent SHA-256 over 1 MiB chunks (sizes at the chunk edges)', async () => {
    for (const size of [1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 12345]) {
      const path = join(dir.path, `f-${size}`)
      const data = await writeRandomFile(path, size)
      const { id, manifest } = await hashFile(path)
      assert.equal(manifest.size, size)
      assert.equal(manifest.chunkSize, CHUNK_SIZE)
      const chunks = Math.ceil(size / CHUNK_SIZE)
      assert.equal(manifest.chunkHashes.length, chunks * 32)
      for (let i = 0; i < chunks; i++) {
        const expected = createHash('sha256').update(data.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)).digest()
        assert.deepEqual(Buffer.from(chunkHash(manifest, i)), expected, `chunk ${i} of ${size}`)
      }
      assert.deepEqual(id, manifestRoot(manifest))
    }
  })

  it('same bytes → same id; one changed byte → another id', async () => {
    const a = join(dir.path, 'a')
    const data = await writeRandomFile(a, 2 * CHUNK_SIZE)
    const b = join(dir.path, 'b')
    writeFileSync(b, data)
    data[CHUNK_SIZE + 7] ^= 0xff
    const c = join(dir.path, 'c')
    writeFileSync(c, data)
    const [ha, hb, hc] = await Promise.all([hashFile(a), hashFile(b), hashFile(c)])
    assert.equal(formatContentId(ha.id), formatContentId(hb.id))
    assert.notEqual(formatContentId(ha.id), formatContentId(hc.id))
    assert.deepEqual(ha.manifest.chunkHashes.subarray(0, 32), hc.manifest.chunkHashes.subarray(0, 32))
  })

  it('hashes an empty file to a manifest without chunks', async () => {
    const path = join(dir.path, 'empty')
    writeFileSync(path, '')
    const { id, manifest } = await hashFile(path)
    assert.equal(manifest.size, 0)
    assert.equal(manifest.chunkHashes.length, 0)
    assert.deepEqual(id, manifestRoot({ size: 0, chunkSize: CHUNK_SIZE, chunkHashes: new Uint8Array(0) }))
  })

  it('fails with IO when the file changes while it is hashed', async () => {
    const path = join(dir.path, 'growing')
    await writeRandomFile(path, 4 * 1024 * 1024)
    // small chunks: many reads, and the appender runs between every two of them
    const hashing = hashFile(path, { chunkSize: 4096 })
    let settled = false
    const append = (): void => {
      if (settled) return
      appendFileSync(path, 'x')
      setImmediate(append)
    }
    append()
    await assert.rejects(hashing.finally(() => { settled = true }), (err: any) => err.code === 'IO' && /changed while hashing/.test(err.message))
  })

  it('refuses what is not a regular file, with IO', async () => {
    const sub = join(dir.path, 'a-dir')
    mkdirSync(sub)
    await assert.rejects(hashFile(sub), (err: any) => err.code === 'IO' || err.code === 'EISDIR')
  })
})
