/**
 * Varint length prefixes for the fetch protocol's response frames (the same framing as
 * it-length-prefixed / lpStream, written by hand because the fetch receive path parses
 * frames and raw payload bytes from one byte stream without copying).
 */
import { Uint8ArrayList } from 'uint8arraylist'

export function encodeFrame (message: Uint8Array): Uint8Array {
  let n = message.length
  const prefix: number[] = []
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  prefix.push(n)
  const out = new Uint8Array(prefix.length + message.length)
  out.set(prefix, 0)
  out.set(message, prefix.length)
  return out
}

/**
 * Reads a varint length prefix from the start of `buf`.
 * Returns null when more bytes are needed; throws when the prefix is malformed or the
 * length exceeds `max` (checked before anything is allocated).
 */
export function readFrameLength (buf: Uint8ArrayList, max: number): { length: number, prefixBytes: number } | null {
  let value = 0
  for (let i = 0; i < 5; i++) {
    if (i >= buf.byteLength) return null
    const byte = buf.get(i)
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) {
      if (value > max) throw new RangeError(`frame of ${value} bytes exceeds the limit of ${max}`)
      return { length: value, prefixBytes: i + 1 }
    }
  }
  throw new RangeError('malformed frame length prefix')
}
