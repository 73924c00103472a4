/**
 * Relative paths as they travel on the wire and sit in the index: '/'-separated, no empty,
 * '.' or '..' segment, no leading '/', no backslash or NUL, and no control character (C0,
 * DEL, C1) or bidi control (which could rewrite a terminal or disguise a name). A
 * downloader also reduces any name it writes to one safe file name (see safeFileName).
 */
import { MAX_NAME_LENGTH, MAX_PATH_LENGTH } from './constants.js'

/** C0, DEL and C1 controls, and the bidi controls (LRM/RLM, ALM, embeddings/overrides, isolates). */
// eslint-disable-next-line no-control-regex
export const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS_G = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
const BIDI_G = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

export function isSafeRelativePath (path: string): boolean {
  if (path.length === 0 || path.length > MAX_PATH_LENGTH) return false
  if (path.includes('\\') || UNSAFE_CHARS.test(path)) return false
  return path.split('/').every(seg => seg.length > 0 && seg.length <= MAX_NAME_LENGTH && seg !== '.' && seg !== '..')
}

/** Bytes a file name may take on the file systems we write to (ext4, xfs, btrfs, apfs: 255). */
export const MAX_NAME_BYTES = 255
/** An extension longer than this is not kept when a name is cut (it is part of the name then). */
const MAX_EXT_BYTES = 32

/**
 * The file name a download is written under: the last path segment, with separators,
 * control characters and leading dots removed (bidi controls dropped, other controls
 * replaced by '_'), at most MAX_NAME_BYTES bytes of UTF-8, never empty.
 */
export function safeFileName (name: string): string {
  const last = name.split(/[/\\]/).filter(s => s.length > 0).pop() ?? ''
  const cleaned = fitName(last.replace(BIDI_G, '').replace(UNSAFE_CHARS_G, '_').replace(/^\.+/, ''), MAX_NAME_BYTES)
  return cleaned.length > 0 ? cleaned : 'download'
}

/**
 * `name` cut to at most `maxBytes` bytes of UTF-8, keeping its extension (when it is short)
 * and never splitting a code point: `fitName('x'.repeat(300) + '.mkv', 255)` keeps `.mkv`.
 * `suffix` goes between the stem and the extension ("NAME (1).ext") and always survives.
 */
export function fitName (name: string, maxBytes: number, suffix = ''): string {
  if (utf8Bytes(name) + utf8Bytes(suffix) <= maxBytes) return insertSuffix(name, suffix)
  const dot = name.lastIndexOf('.')
  let ext = dot > 0 ? name.slice(dot) : ''
  if (utf8Bytes(ext) > MAX_EXT_BYTES || utf8Bytes(ext) + utf8Bytes(suffix) >= maxBytes) ext = ''
  const stem = name.slice(0, name.length - ext.length)
  return cutUtf8(stem, maxBytes - utf8Bytes(ext) - utf8Bytes(suffix)) + suffix + ext
}

function insertSuffix (name: string, suffix: string): string {
  if (suffix === '') return name
  const dot = name.lastIndexOf('.')
  return dot > 0 ? name.slice(0, dot) + suffix + name.slice(dot) : name + suffix
}

/** The longest prefix of `text` (whole code points) that fits in `maxBytes` bytes of UTF-8. */
export function cutUtf8 (text: string, maxBytes: number): string {
  let bytes = 0
  let end = 0
  for (const ch of text) {
    const n = utf8Bytes(ch)
    if (bytes + n > maxBytes) break
    bytes += n
    end += ch.length
  }
  return text.slice(0, end)
}

export function utf8Bytes (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

/** The file name of a '/'-separated relative path. */
export function baseName (path: string): string {
  const i = path.lastIndexOf('/')
  return i === -1 ? path : path.slice(i + 1)
}
