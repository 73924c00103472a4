/**
 * The file a download writes into: `.NAME.<id>.part` beside the target (NAME cut to
 * HELPER_NAME_BYTES bytes of UTF-8 so that every helper name fits in 255 bytes), written at chunk
 * positions as verified data arrives, and linked to its final name only when every chunk
 * has been verified. The final name is never overwritten: when it exists, "NAME (1).ext",
 * "NAME (2).ext", … are tried (link() fails on an existing name, so no race can clobber).
 * A lock file `.NAME.<id>.lock.part` holding the owner's pid keeps a second download of the
 * same file into the same folder (another process, or the same one) from sharing the part
 * file; a lock whose process is gone (SIGKILL, crash) is taken over. Helper files are
 * never opened through a link or as a FIFO (see safe-open.ts).
 */
import { closeSync, ftruncateSync, fsyncSync, fdatasync, linkSync, unlinkSync, mkdirSync, fstatSync, read } from 'node:fs'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { FileShareError } from '../../errors.js'
import { PART_FLUSH_BYTES } from './tuning.js'
import { fitName, MAX_NAME_BYTES } from '../../protocols/paths.js'
import { openRegularRw, assertNoTrap } from '../../util/safe-open.js'
import { takePidLock } from '../../util/pid-lock.js'

/**
 * Bytes of NAME in the helper names: `.NAME.<id16>` takes 18 more, and the longest suffix
 * (`.lock.<pid>.<tag>.part`, the lock's temporary name) at most 25, so all fit in 255.
 */
export const HELPER_NAME_BYTES = 200

export class PartFile {
  readonly path: string
  /** true when a part file of this download was already there (a resume candidate) */
  readonly existed: boolean
  private fd: number | null = null
  private readonly lockPath: string
  private locked = false
  /** bytes written since the last background flush started */
  private unflushed = 0
  private flushing = false
  /** close() came while a background flush was running: the callback closes the descriptor */
  private closeWhenFlushed: number | null = null
  /** an error of a background flush (reported once by the kernel: commit() must still see it) */
  private flushError: Error | null = null

  constructor (readonly dir: string, readonly name: string, idText: string, size: number) {
    const stem = join(dir, `.${fitName(name, HELPER_NAME_BYTES)}.${idText.slice(2, 18)}`)
    this.path = `${stem}.part`
    this.lockPath = `${stem}.lock.part`
    try {
      mkdirSync(dir, { recursive: true })
    } catch (err: any) {
      throw new FileShareError('IO', `cannot create ${dir}: ${err?.message ?? err}`, { cause: err })
    }
    this.lock()
    try {
      // the resume state beside it (resume-state.ts) must not be a trap either: refused up
      // front, before a part file of an earlier run could be discarded for it
      assertNoTrap(`${stem}.state.part`)
      const { fd, created } = openRegularRw(this.path)
      this.fd = fd
      this.existed = !created
      if (fstatSync(this.fd).size !== size) ftruncateSync(this.fd, size)
    } catch (err: any) {
      this.close()
      if (err instanceof FileShareError) throw err
      throw new FileShareError('IO', `cannot create ${this.path}: ${err?.message ?? err}`, { cause: err })
    }
  }

  /** The open file descriptor (ChunkWriter writes through it from its thread). */
  get descriptor (): number {
    if (this.fd == null) throw new FileShareError('IO', `${this.path} is closed`)
    return this.fd
  }

  /**
   * Counts `bytes` just written; every PART_FLUSH_BYTES starts an fdatasync on libuv's
   * thread pool, so the disk writes overlap the download instead of all waiting for commit().
   */
  wrote (bytes: number): void {
    this.unflushed += bytes
    if (this.unflushed < PART_FLUSH_BYTES || this.flushing || this.fd == null) return
    this.unflushed = 0
    this.flushing = true
    fdatasync(this.fd, err => {
      this.flushing = false
      if (err != null) this.flushError ??= err
      if (this.closeWhenFlushed != null) {
        closeSync(this.closeWhenFlushed)
        this.closeWhenFlushed = null
      }
    })
  }

  /** Reads `into.length` bytes at `position` (short only at the end of the file). */
  async read (into: Uint8Array, position: number): Promise<number> {
    let done = 0
    while (done < into.length) {
      const { bytesRead: n } = await readAsync(this.fd!, into, done, into.length - done, position + done)
      if (n === 0) break
      done += n
    }
    return done
  }

  /** Flushes, closes and links the file under its final name; returns that path. */
  commit (): string {
    try {
      if (this.flushError != null) throw this.flushError
      fsyncSync(this.fd!)
    } catch (err: any) {
      throw new FileShareError('IO', `cannot write ${this.path}: ${err?.message ?? err}`, { cause: err })
    }
    this.closeFile() // the lock stays until the part file is gone
    for (let n = 0; n < 1000; n++) {
      const target = join(this.dir, fitName(this.name, MAX_NAME_BYTES, n === 0 ? '' : ` (${n})`))
      try {
        linkSync(this.path, target)
      } catch (err: any) {
        if (err?.code === 'EEXIST') continue
        throw new FileShareError('IO', `cannot create ${target}: ${err?.message ?? err}`, { cause: err })
      }
      unlinkSync(this.path)
      this.unlock()
      return target
    }
    throw new FileShareError('IO', `no free name for ${this.name} in ${this.dir}`)
  }

  /** Closes the file and releases the lock (the part file stays for a resume). */
  close (): void {
    this.closeFile()
    this.unlock()
  }

  /** Closes and deletes the partial file. */
  discard (): void {
    this.closeFile()
    try { unlinkSync(this.path) } catch {}
    this.unlock()
  }

  private closeFile (): void {
    if (this.fd == null) return
    // a background flush still uses the descriptor: closing it now could hand its number to another file
    if (this.flushing) this.closeWhenFlushed = this.fd
    else closeSync(this.fd)
    this.fd = null
  }

  private lock (): void {
    const temp = `${this.lockPath.slice(0, -'.part'.length)}.${process.pid}.${randomBytes(3).toString('hex')}.part`
    let owner: number | null
    try {
      owner = takePidLock(this.lockPath, temp)
    } catch (err: any) {
      if (err instanceof FileShareError) throw err
      throw new FileShareError('IO', `cannot create ${this.lockPath}: ${err?.message ?? err}`, { cause: err })
    }
    if (owner === 0) throw new FileShareError('IO', `another download of ${this.name} into ${this.dir} took ${this.lockPath} first`)
    if (owner != null) throw new FileShareError('IO', `another download of ${this.name} into ${this.dir} is running (pid ${owner}; remove ${this.lockPath} if it is not)`)
    this.locked = true
  }

  private unlock (): void {
    if (!this.locked) return
    this.locked = false
    try { unlinkSync(this.lockPath) } catch {}
  }
}

const readAsync = promisify(read) as unknown as (fd: number, buf: Uint8Array, offset: number, length: number, position: number) => Promise<{ bytesRead: number }>
