/**
 * A lock file holding its owner's pid: the data-folder lock (node/data-lock.ts) and a
 * download's lock (peer/download/part-file.ts). The pid is written under a temporary name
 * and linked into place, so the lock appears with its pid in it (link() fails on an
 * existing name, like 'wx', but never shows an empty lock). A lock whose process is gone
 * (SIGKILL, crash) is taken over; of two taking it over at once, the second link() fails.
 * Neither name is ever followed as a link or opened as a FIFO (safe-open.ts).
 */
import { linkSync, unlinkSync } from 'node:fs'
import { FileShareError } from '../errors.js'
import { readRegular, writeExclusive } from './safe-open.js'

/**
 * Takes `path` for this process, writing the pid under `temp` first. Returns null once the
 * lock is ours, else the pid of the live process that holds it (0: another process took it
 * over first). `reentrant`: a lock holding our own pid counts as ours. Throws what the file
 * system throws (a FileShareError 'IO' for a trap at either name).
 */
export function takePidLock (path: string, temp: string, options: { reentrant?: boolean } = {}): number | null {
  writeExclusive(temp, `${process.pid}\n`)
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        linkSync(temp, path)
        return null
      } catch (err: any) {
        if (err?.code !== 'EEXIST') throw err
      }
      const owner = lockOwner(path)
      if (owner != null && isAlive(owner) && !(options.reentrant === true && owner === process.pid)) return owner
      // its owner is gone: take the lock over
      try { unlinkSync(path) } catch {}
    }
    return 0
  } finally {
    try { unlinkSync(temp) } catch {}
  }
}

/**
 * The pid in a lock file, or null when it is gone, unreadable or damaged; throws 'IO' when
 * the name holds a link, a FIFO or anything but a regular file (a trap: it is not removed).
 */
function lockOwner (path: string): number | null {
  let text: string | null
  try {
    text = readRegular(path)
  } catch (err: any) {
    if (err instanceof FileShareError) throw err
    return null
  }
  const pid = Number.parseInt(text ?? '', 10)
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err: any) {
    return err?.code === 'EPERM' // alive, but not ours to signal
  }
}
