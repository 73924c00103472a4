/**
 * One identity, one process: a data folder (the node key, the index or hash cache) is locked
 * by the process that uses it. The lock is `<data>/lock`, holding the owner's pid
 * (util/pid-lock.ts: a lock whose process is gone is taken over). Within one process the folder may be used
 * again (a count is kept; the file goes when the last user releases it).
 */
import { mkdirSync, unlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { FileShareError } from '../errors.js'
import { takePidLock } from '../util/pid-lock.js'

export const LOCK_FILE = 'lock'

const held = new Map<string, number>()

export interface DataLock {
  release: () => void
}

/** Locks `dir` (created if missing) for this process; throws a 'LOCKED' FileShareError naming the running pid. */
export function lockDataDir (dir: string): DataLock {
  const abs = resolve(dir)
  const count = held.get(abs)
  if (count != null) {
    held.set(abs, count + 1)
  } else {
    takeLock(abs)
    held.set(abs, 1)
  }
  let released = false
  return {
    release: () => {
      if (released) return
      released = true
      const left = (held.get(abs) ?? 1) - 1
      if (left > 0) {
        held.set(abs, left)
        return
      }
      held.delete(abs)
      try { unlinkSync(join(abs, LOCK_FILE)) } catch {}
    }
  }
}

function takeLock (dir: string): void {
  const path = join(dir, LOCK_FILE)
  let owner: number | null
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    owner = takePidLock(path, join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`), { reentrant: true })
  } catch (err: any) {
    if (err instanceof FileShareError) throw err
    throw new FileShareError('IO', `cannot lock data folder ${dir}: ${err?.message ?? err}`, { cause: err })
  }
  if (owner === 0) throw new FileShareError('LOCKED', `data folder ${dir} was locked by another process first`, { details: { data: dir } })
  if (owner != null) {
    throw new FileShareError('LOCKED', `data folder ${dir} is in use by process ${owner} (remove ${path} if that process is not FileShare)`, { details: { pid: owner, data: dir } })
  }
}
