/**
 * Verifies and writes chunks on a worker thread. The download's main thread decrypts and
 * parses the stream (one core's worth at full speed); SHA-256 and the write syscalls run
 * beside it, which keeps a verified download close to a bare stream's rate (see
 * BENCHMARKS.md). A chunk's buffer is moved to the thread, not copied, and comes back
 * with the reply to be reused (`acquire`): fresh 1 MiB buffers cost page faults and GC.
 */
import { Worker } from 'node:worker_threads'
import { FileShareError } from '../../errors.js'
import type { ChunkJob, ChunkReply } from './chunk-writer-worker.js'

/** Returned buffers kept for reuse (about the requests in flight of a download). */
const MAX_FREE_BUFFERS = 64

export class ChunkWriter {
  private readonly worker: Worker
  private seq = 0
  private readonly jobs = new Map<number, { resolve: (ok: boolean) => void, reject: (err: Error) => void }>()
  private failed: Error | null = null
  /** buffers back from the thread, ready for reuse */
  private readonly free: ArrayBuffer[] = []

  constructor () {
    this.worker = new Worker(new URL('./chunk-writer-worker.js', import.meta.url))
    // the download's own sockets and timers keep the process alive, never this thread
    this.worker.unref()
    this.worker.on('message', (reply: ChunkReply) => {
      const job = this.jobs.get(reply.seq)
      if (job == null) return
      this.jobs.delete(reply.seq)
      if (this.free.length < MAX_FREE_BUFFERS) this.free.push(reply.buffer)
      if (reply.error != null) job.reject(new FileShareError('IO', `cannot write chunk: ${reply.error}`))
      else job.resolve(reply.ok)
    })
    this.worker.on('error', err => { this.failAll(new FileShareError('INTERNAL', `chunk writer failed: ${err.message}`, { cause: err })) })
    this.worker.on('exit', () => { this.failAll(new FileShareError('ABORTED', 'chunk writer stopped')) })
  }

  /** A buffer of `length` bytes for a chunk: a returned one when its size fits, else a new one. */
  acquire (length: number): Buffer {
    const i = this.free.findIndex(b => b.byteLength === length)
    if (i === -1) return Buffer.allocUnsafe(length)
    return Buffer.from(this.free.splice(i, 1)[0])
  }

  /**
   * Resolves true when `data` hashes to `hash` and has been written at `position` of `fd`,
   * false (nothing written) when it does not match. `data` must not be used afterwards:
   * when it spans its whole ArrayBuffer, that buffer is transferred to the thread.
   */
  async verifyAndWrite (fd: number, position: number, data: Uint8Array, hash: Uint8Array): Promise<boolean> {
    if (this.failed != null) throw this.failed
    const seq = this.seq++
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !(data.buffer instanceof SharedArrayBuffer)
    // a view (a pooled small Buffer, a part of a larger one) is copied into its own buffer:
    // moving the shared one would detach it under its other users (Buffer#slice is a view)
    const job: ChunkJob = { seq, fd, position, data: owned ? data : new Uint8Array(data), hash: new Uint8Array(hash) }
    return await new Promise((resolve, reject) => {
      this.jobs.set(seq, { resolve, reject })
      this.worker.postMessage(job, [job.data.buffer as ArrayBuffer])
    })
  }

  /** Stops the thread once its current job is done (pending jobs fail with ABORTED). */
  async close (): Promise<void> {
    await this.worker.terminate()
  }

  private failAll (err: Error): void {
    this.failed ??= err
    for (const job of this.jobs.values()) job.reject(err)
    this.jobs.clear()
  }
}
