/**
 * Relative paths as they travel on the wire and sit in the index: '/'-separated, no empty,
 * '.' or '..' segment, no leading '/', no backslash or NUL. A downloader also reduces any
 * name it writes to one safe file name (see safeFileName).
 */
import { MAX_NAME_LENGTH, MAX_PATH_LENGTH } from './constants.js'

export function isSafeRelativePath (path: string): boolean {
  if (path.length === 0 || path.length > MAX_PATH_LENGTH) return false
  if (path.includes('\\') || path.includes('\0')) return false
  return path.split('/').every(seg => seg.length > 0 && seg.length <= MAX_NAME_LENGTH && seg !== '.' && seg !== '..')
}

/**
 * The file name a download is written under: the last path segment, with separators,
 * control characters and leading dots removed, never empty.
 */
export function safeFileName (name: string): string {
  const last = name.split(/[/\\]/).filter(s => s.length > 0).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  const cleaned = last.replace(/[\u0000-\u001f\u007f]/g, '_').replace(/^\.+/, '').slice(0, MAX_NAME_LENGTH)
  return cleaned.length > 0 ? cleaned : 'download'
}

/** The file name of a '/'-separated relative path. */
export function baseName (path: string): string {
  const i = path.lastIndexOf('/')
  return i === -1 ? path : path.slice(i + 1)
}
