/**
 * The file a download writes into: `.NAME.<id>.part` beside the target, written at chunk
 * positions as verified data arrives, and linked to its final name only when every chunk
 * has been verified. The final name is never overwritten: when it exists, "NAME (1).ext",
 * "NAME (2).ext", … are tried (link() fails on an existing name, so no race can clobber).
 */
import { openSync, closeSync, ftruncateSync, fsyncSync, linkSync, unlinkSync, mkdirSync, fstatSync, existsSync, read } from 'node:fs'
import { promisify } from 'node:util'
import { join, extname } from 'node:path'
import { FileShareError } from '../../errors.js'

export class PartFile {
  readonly path: string
  /** true when a part file of this download was already there (a resume candidate) */
  readonly existed: boolean
  private fd: number | null

  constructor (readonly dir: string, readonly name: string, idText: string, size: number) {
    mkdirSync(dir, { recursive: true })
    this.path = join(dir, `.${name}.${idText.slice(2, 18)}.part`)
    this.existed = existsSync(this.path)
    try {
      this.fd = openSync(this.path, 'a+')
      closeSync(this.fd)
      this.fd = openSync(this.path, 'r+')
      if (fstatSync(this.fd).size !== size) ftruncateSync(this.fd, size)
    } catch (err: any) {
      throw new FileShareError('IO', `cannot create ${this.path}: ${err?.message ?? err}`, { cause: err })
    }
  }

  /** The open file descriptor (ChunkWriter writes through it from its thread). */
  get descriptor (): number {
    if (this.fd == null) throw new FileShareError('IO', `${this.path} is closed`)
    return this.fd
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
    fsyncSync(this.fd!)
    this.close()
    const ext = extname(this.name)
    const stem = this.name.slice(0, this.name.length - ext.length)
    for (let n = 0; n < 1000; n++) {
      const target = join(this.dir, n === 0 ? this.name : `${stem} (${n})${ext}`)
      try {
        linkSync(this.path, target)
      } catch (err: any) {
        if (err?.code === 'EEXIST') continue
        throw new FileShareError('IO', `cannot create ${target}: ${err?.message ?? err}`, { cause: err })
      }
      unlinkSync(this.path)
      return target
    }
    throw new FileShareError('IO', `no free name for ${this.name} in ${this.dir}`)
  }

  close (): void {
    if (this.fd != null) {
      closeSync(this.fd)
      this.fd = null
    }
  }

  /** Closes and deletes the partial file. */
  discard (): void {
    this.close()
    try { unlinkSync(this.path) } catch {}
  }
}

const readAsync = promisify(read) as unknown as (fd: number, buf: Uint8Array, offset: number, length: number, position: number) => Promise<{ bytesRead: number }>
