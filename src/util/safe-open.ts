/**
 * Opening the helper files of a download (part, lock, state) in a folder that others may
 * write to: a symlink planted at one of their names is never followed (O_NOFOLLOW), a FIFO
 * or device is never waited on (O_NONBLOCK, then fstat: only regular files are used), and
 * temporary files are created exclusively (O_EXCL). A trap ends in FileShareError 'IO'
 * naming the file; whatever the link points to is left untouched.
 */
import { openSync, closeSync, fstatSync, lstatSync, readSync, writeSync, unlinkSync, constants } from 'node:fs'
import { FileShareError } from '../errors.js'

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants

/** Opens `path` for reading and writing, creating it when missing; `created` tells which. */
export function openRegularRw (path: string): { fd: number, created: boolean } {
  try {
    return { fd: openRegular(path, O_RDWR), created: false }
  } catch (err: any) {
    if (err?.code !== 'ENOENT') throw err
  }
  return { fd: createExclusive(path, O_RDWR), created: true }
}

/** The contents of regular file `path`, or null when it does not exist. */
export function readRegular (path: string): string | null {
  let fd: number
  try {
    fd = openRegular(path, O_RDONLY)
  } catch (err: any) {
    if (err?.code === 'ENOENT') return null
    throw err
  }
  try {
    const size = fstatSync(fd).size
    const buf = Buffer.alloc(Math.min(size, 1 << 20))
    let done = 0
    while (done < buf.length) {
      const n = readSync(fd, buf, done, buf.length - done, done)
      if (n === 0) break
      done += n
    }
    return buf.subarray(0, done).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/**
 * Writes `data` into a new file `path` (O_EXCL: never through a link, never into an
 * existing file). A leftover regular file or link at the name (a crashed run, a trap) is
 * removed first; the link's target is not touched.
 */
export function writeExclusive (path: string, data: string): void {
  let fd: number
  try {
    fd = createExclusive(path)
  } catch (err: any) {
    if (!(err instanceof FileShareError && (err.cause as any)?.code === 'EEXIST')) throw err
    try { unlinkSync(path) } catch {}
    fd = createExclusive(path)
  }
  try {
    const buf = Buffer.from(data)
    let done = 0
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done, done)
  } finally {
    closeSync(fd)
  }
}

/** Throws 'IO' when something other than a regular file sits at `path` (missing is fine). */
export function assertNoTrap (path: string): void {
  let st
  try {
    st = lstatSync(path)
  } catch (err: any) {
    if (err?.code === 'ENOENT') return
    throw ioError(path, err)
  }
  if (!st.isFile()) throw new FileShareError('IO', `${path} is ${describe(st)}, not a regular file: refusing to use it (remove it)`)
}

function createExclusive (path: string, mode = O_WRONLY): number {
  try {
    return openSync(path, mode | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
  } catch (err: any) {
    throw ioError(path, err)
  }
}

/** Opens an existing `path` without following a link or blocking on a FIFO; regular files only. */
function openRegular (path: string, mode: number): number {
  let fd: number
  try {
    // O_RDWR on a FIFO would succeed at once: the fstat below refuses it
    fd = openSync(path, mode | O_NOFOLLOW | O_NONBLOCK)
  } catch (err: any) {
    if (err?.code === 'ENOENT') throw err
    throw ioError(path, err)
  }
  const st = fstatSync(fd)
  if (!st.isFile()) {
    closeSync(fd)
    throw new FileShareError('IO', `${path} is ${describe(st)}, not a regular file: refusing to use it (remove it)`)
  }
  return fd
}

function ioError (path: string, err: any): FileShareError {
  const why = err?.code === 'ELOOP' ? 'is a symbolic link: refusing to follow it (remove it)' : `cannot be opened: ${err?.message ?? err}`
  return new FileShareError('IO', `${path} ${why}`, { cause: err })
}

function describe (st: { isFIFO: () => boolean, isSymbolicLink: () => boolean, isDirectory: () => boolean, isSocket: () => boolean }): string {
  if (st.isSymbolicLink()) return 'a symbolic link'
  if (st.isFIFO()) return 'a FIFO'
  if (st.isDirectory()) return 'a directory'
  if (st.isSocket()) return 'a socket'
  return 'a special file'
}
