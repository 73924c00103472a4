/**
 * What identifies the bytes a content id was computed from: the file (device, inode) and
 * its state (size, mtime). Recorded when a file is hashed (from the descriptor that was
 * read) and checked by the fetch server before and after every read, so a peer serves only
 * the bytes it hashed: a file replaced (another inode, a symlink) or edited in place (size
 * or mtime) is withdrawn instead of served.
 */
import type { Stats } from 'node:fs'

export interface FileIdentity {
  dev: number
  ino: number
  size: number
  mtimeMs: number
}

export function identityOf (st: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs }
}

export function sameIdentity (a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs
}

/** How `actual` differs from `expected`, for logs and status messages ('' when the same). */
export function identityChange (expected: FileIdentity, actual: FileIdentity): string {
  if (expected.dev !== actual.dev || expected.ino !== actual.ino) return 'replaced by another file'
  if (expected.size !== actual.size) return `size ${expected.size} → ${actual.size}`
  if (expected.mtimeMs !== actual.mtimeMs) return 'modified'
  return ''
}
