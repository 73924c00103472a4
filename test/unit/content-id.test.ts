import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import {
  chunkCount, chunkLength, chunkHash, manifestRoot, manifestMatches, checkManifestShape, formatContentId, parseContentId,
  isContentId, HASH_BYTES, type Manifest
} from '../../src/content/content-id.js'
import { CHUNK_SIZE, MAX_CHUNKS } from '../../src/content/constants.js'

function manifestOf (data: Buffer, chunkSize = CHUNK_SIZE): Manifest {
  const n = chunkCount(data.length, chunkSize)
  const chunkHashes = new Uint8Array(n * HASH_BYTES)
  for (let i = 0; i < n; i++) chunkHashes.set(createHash('sha256').update(data.subarray(i * chunkSize, (i + 1) * chunkSize)).digest(), i * HASH_BYTES)
  return { size: data.length, chunkSize, chunkHashes }
}

describe('content ids', () => {
  it('chunkCount and chunkLength at the edges', () => {
    assert.equal(chunkCount(0, CHUNK_SIZE), 0)
    assert.equal(chunkCount(1, CHUNK_SIZE), 1)
    assert.equal(chunkCount(CHUNK_SIZE - 1, CHUNK_SIZE), 1)
    assert.equal(chunkCount(CHUNK_SIZE, CHUNK_SIZE), 1)
    assert.equal(chunkCount(CHUNK_SIZE + 1, CHUNK_SIZE), 2)
    assert.equal(chunkCount(10 * CHUNK_SIZE, CHUNK_SIZE), 10)
    assert.equal(chunkLength({ size: CHUNK_SIZE + 1, chunkSize: CHUNK_SIZE }, 0), CHUNK_SIZE)
    assert.equal(chunkLength({ size: CHUNK_SIZE + 1, chunkSize: CHUNK_SIZE }, 1), 1)
    assert.equal(chunkLength({ size: 2 * CHUNK_SIZE, chunkSize: CHUNK_SIZE }, 1), CHUNK_SIZE)
  })

  it('the root commits to size, chunk size and every chunk hash (an independent computation agrees)', () => {
    const data = randomBytes(2 * 1000 + 17)
    const m = manifestOf(data, 1000)
    const header = Buffer.alloc(12)
    header.writeBigUInt64BE(BigInt(data.length), 0)
    header.writeUInt32BE(1000, 8)
    const expected = createHash('sha256').update('fileshare/content/1\n').update(header).update(m.chunkHashes).digest()
    assert.deepEqual(Buffer.from(manifestRoot(m)), expected)
    assert.deepEqual(Buffer.from(chunkHash(m, 2)), createHash('sha256').update(data.subarray(2000)).digest())
  })

  it('manifestMatches: true for the manifest of the id, false for any change', () => {
    const m = manifestOf(randomBytes(3 * 1024 + 5), 1024)
    const id = manifestRoot(m)
    assert.equal(manifestMatches(m, id), true)
    const flipped = new Uint8Array(m.chunkHashes)
    flipped[40] ^= 1
    assert.equal(manifestMatches({ ...m, chunkHashes: flipped }, id), false)
    assert.equal(manifestMatches({ ...m, size: m.size + 1 }, id), false)
    assert.equal(manifestMatches({ ...m, size: m.size - 1 }, id), false)
    assert.equal(manifestMatches({ ...m, chunkHashes: m.chunkHashes.subarray(32) }, id), false)
    assert.equal(manifestMatches({ ...m, chunkSize: 0 }, id), false)
    assert.equal(manifestMatches({ ...m, chunkSize: CHUNK_SIZE + 1 }, id), false)
    assert.equal(manifestMatches({ ...m, size: -1 }, id), false)
    assert.equal(manifestMatches(m, new Uint8Array(32)), false)
  })

  it('checkManifestShape refuses lies about the size before anything is allocated', () => {
    assert.throws(() => checkManifestShape({ size: (MAX_CHUNKS + 1) * CHUNK_SIZE, chunkSize: CHUNK_SIZE, chunkHashes: new Uint8Array(0) }), { code: 'PROTOCOL' })
    assert.throws(() => checkManifestShape({ size: 1.5, chunkSize: CHUNK_SIZE, chunkHashes: new Uint8Array(32) }), { code: 'PROTOCOL' })
    assert.throws(() => checkManifestShape({ size: 10, chunkSize: CHUNK_SIZE, chunkHashes: new Uint8Array(64) }), { code: 'PROTOCOL' })
  })

  it('the empty file has a manifest with no chunk and a fixed id', () => {
    const m = manifestOf(Buffer.alloc(0))
    assert.equal(m.chunkHashes.length, 0)
    assert.equal(manifestMatches(m, manifestRoot(m)), true)
    assert.equal(formatContentId(manifestRoot(m)), formatContentId(manifestRoot({ size: 0, chunkSize: CHUNK_SIZE, chunkHashes: new Uint8Array(0) })))
  })

  it('formats and parses printable ids', () => {
    for (let i = 0; i < 20; i++) {
      const raw = new Uint8Array(randomBytes(32))
      const text = formatContentId(raw)
      assert.match(text, /^fs[a-z2-7]{52}$/)
      assert.equal(isContentId(text), true)
      assert.deepEqual(parseContentId(text), raw)
    }
    const good = formatContentId(new Uint8Array(32))
    for (const bad of ['', 'fs', good.toUpperCase(), good.slice(0, -1), good + 'a', 'xx' + good.slice(2), good.replace(/.$/, '1'), ' ' + good, 'beach.jpg']) {
      assert.equal(isContentId(bad), false, bad)
      assert.throws(() => parseContentId(bad), { code: 'USAGE' })
    }
  })
})
