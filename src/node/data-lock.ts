/**
 * One identity, one process: a data folder (the node key, the index or hash cache) is locked
 * by the process that uses it. The lock is `<data>/lock`, holding the owner's pid; it is
 * written under a temporary name and linked into place (link() fails on an existing name,
 * so two processes cannot both take it, and nobody ever sees an empty lock). A lock whose
 * process is gone (SIGKILL, crash) is taken over. Within one process the folder may be used
 * again (a count is kept; the file goes when the last user releases it).
 */
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { FileShareError } from '../errors.js'

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
  const temp = join(dir, `${LOCK_FILE}.${process.pid}.tmp`)
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    writeFileSync(temp, `${process.pid}\n`)
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(temp, path)
        return
      } catch (err: any) {
        if (err?.code !== 'EEXIST') throw err
      }
      const owner = lockOwner(path)
      if (owner != null && owner !== process.pid && isAlive(owner)) {
        throw new FileShareError('LOCKED', `data folder ${dir} is in use by process ${owner} (remove ${path} if that process is not FileShare)`, { details: { pid: owner, data: dir } })
      }
      // its owner is gone: take the lock over; of two doing so at once, the second link() fails
      try { unlinkSync(path) } catch {}
    }
    throw new FileShareError('LOCKED', `data folder ${dir} was locked by another process first`, { details: { data: dir } })
  } catch (err: any) {
    if (err instanceof FileShareError) throw err
    throw new FileShareError('IO', `cannot lock data folder ${dir}: ${err?.message ?? err}`, { cause: err })
  } finally {
    try { unlinkSync(temp) } catch {}
  }
}

function lockOwner (path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    return err?.code === 'EPERM'
  }
}
