import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Uint8ArrayList } from 'uint8arraylist'
import { encodeFrame, readFrameLength } from '../../src/protocols/frames.js'

describe('frames: varint length prefixes', () => {
  it('round-trips lengths across varint byte boundaries', () => {
    for (const n of [0, 1, 127, 128, 300, 16383, 16384, 65536, 2 ** 21 - 1, 2 ** 21]) {
      const frame = encodeFrame(new Uint8Array(n).fill(7))
      const got = readFrameLength(new Uint8ArrayList(frame), 2 ** 22)
      assert.ok(got != null)
      assert.equal(got.length, n)
      assert.equal(got.prefixBytes + n, frame.length)
      assert.ok(frame.subarray(got.prefixBytes).every(b => b === 7))
    }
  })

  it('needs more bytes for an incomplete prefix, also when it is split across parts', () => {
    assert.equal(readFrameLength(new Uint8ArrayList(), 100), null)
    assert.equal(readFrameLength(new Uint8ArrayList(new Uint8Array([0x80])), 1 << 20), null)
    const frame = encodeFrame(new Uint8Array(300))
    const list = new Uint8ArrayList(frame.subarray(0, 1))
    assert.equal(readFrameLength(list, 1000), null)
    list.append(frame.subarray(1, 2))
    assert.deepEqual(readFrameLength(list, 1000), { length: 300, prefixBytes: 2 })
  })

  it('rejects a length above the limit from the prefix alone, before the body arrives', () => {
    const prefixOnly = encodeFrame(new Uint8Array(70_000)).subarray(0, 3)
    assert.throws(() => readFrameLength(new Uint8ArrayList(prefixOnly), 65_536), RangeError)
    assert.deepEqual(readFrameLength(new Uint8ArrayList(prefixOnly), 70_000), { length: 70_000, prefixBytes: 3 })
  })

  it('rejects a malformed prefix (more than 5 continuation bytes)', () => {
    assert.throws(() => readFrameLength(new Uint8ArrayList(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), 2 ** 40), /malformed/)
    // a 5-byte prefix whose value is huge is refused by the limit
    assert.throws(() => readFrameLength(new Uint8ArrayList(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), 1 << 20), RangeError)
  })
})
