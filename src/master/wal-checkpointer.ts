/**
 * Checkpoints the index's write-ahead log on a worker thread.
 *
 * With SQLite's automatic checkpoint, every ≈ 1 000 pages written one commit also copies
 * the log into the database and fsyncs it: under a register flood one register slice in
 * ten took 30–90 ms instead of 5–10 ms, on the event loop that answers lookups (the flood
 * bench, BENCHMARKS.md). Here the master's connection never checkpoints; a second
 * connection on a thread does, when asked (the master asks every CHECKPOINT_INTERVAL_MS
 * and holds its index writes meanwhile: a log that is written to all the time is never
 * checkpointed whole, so it would never start afresh and would grow without bound). Should
 * the thread fail, or the log grow long all the same, the automatic checkpoint comes back.
 */
import { Worker } from 'node:worker_threads'
import { logger } from '@libp2p/logger'
import type Database from 'better-sqlite3'
import type { CheckpointReply, CheckpointRequest, CheckpointWorkerData } from './wal-checkpoint-worker.js'

const log = logger('fileshare:master:checkpoint')

/** How often the master checkpoints the index's log, ms. */
export const CHECKPOINT_INTERVAL_MS = 1_000
/** A checkpoint not answered by then is given up on (the next one is asked on time), ms. */
const CHECKPOINT_TIMEOUT_MS = 10_000
/** How long stop() waits for the thread to close its connection, ms. */
const CLOSE_TIMEOUT_MS = 5_000
/** SQLite's own default, restored when the thread fails. */
const AUTO_CHECKPOINT_PAGES = 1_000
/** The log file is cut back to this size when it starts afresh, bytes. */
const WAL_SIZE_LIMIT = 64 * 1024 * 1024
/**
 * A log this long (pages) that a checkpoint could not copy whole (writes outside the held
 * lane kept coming) turns the automatic checkpoint back on until one does: the log, and
 * the disk it takes, stay bounded whatever the write pattern (≈ 256 MiB at 4 KiB pages).
 */
const MAX_LOG_PAGES = 65_536

export class WalCheckpointer {
  private readonly worker: Worker
  private failed = false
  /** the main connection's automatic checkpoint is on again (a log too long, see MAX_LOG_PAGES) */
  private autoOn = false
  private seq = 0
  /** the checkpoint running, if one is */
  private running: { seq: number, done: Promise<boolean>, resolve: (complete: boolean) => void } | null = null

  /** `db`: the master's connection to `file`, in WAL mode. */
  constructor (private readonly db: Database.Database, file: string, private readonly maxLogPages = MAX_LOG_PAGES) {
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`)
    db.pragma('wal_autocheckpoint = 0')
    this.worker = new Worker(new URL('./wal-checkpoint-worker.js', import.meta.url), {
      workerData: { file } satisfies CheckpointWorkerData
    })
    this.worker.unref()
    this.worker.on('message', (reply: CheckpointReply) => {
      if ('closed' in reply) return
      if ('error' in reply) log('checkpoint failed: %s', reply.error)
      else this.bound(reply.complete, reply.pages)
      this.finish(reply.seq, 'complete' in reply && reply.complete)
    })
    this.worker.on('error', err => { this.fallBack(err.message) })
    this.worker.on('exit', code => { this.fallBack(`exit ${code}`) })
  }

  /**
   * Copies the log into the database on the thread; resolves whether all of it was (false
   * also when it failed: the next checkpoint tries again). One at a time: while one runs,
   * this is that one.
   */
  async checkpoint (): Promise<boolean> {
    if (this.failed) return false
    if (this.running != null) return await this.running.done
    const seq = ++this.seq
    let resolve!: (complete: boolean) => void
    const done = new Promise<boolean>(r => { resolve = r })
    this.running = { seq, done, resolve }
    const timer = setTimeout(() => { this.finish(seq, false) }, CHECKPOINT_TIMEOUT_MS)
    this.worker.postMessage({ seq } satisfies CheckpointRequest)
    const complete = await done
    clearTimeout(timer)
    return complete
  }

  /**
   * Closes the thread's connection and stops the thread; await it before closing the
   * master's connection, so that one is the last: SQLite then copies the log into the
   * database and deletes it (on a full disk, that space is what lets the master start again).
   */
  async stop (): Promise<void> {
    const wasRunning = !this.failed
    this.failed = true
    this.finish(this.seq, false)
    if (wasRunning) {
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)
        const onMessage = (reply: CheckpointReply): void => {
          if (!('closed' in reply)) return
          clearTimeout(timer)
          resolve()
        }
        this.worker.on('message', onMessage)
        this.worker.once('exit', () => { clearTimeout(timer); resolve() })
        this.worker.postMessage({ close: true } satisfies CheckpointRequest)
      })
    }
    await this.worker.terminate()
  }

  /** The automatic checkpoint on while the log is over MAX_LOG_PAGES and not copied whole, off again once it is. */
  private bound (complete: boolean, pages: number): void {
    const auto = !complete && pages > this.maxLogPages
    if (auto === this.autoOn || !this.db.open) return
    this.autoOn = auto
    this.db.pragma(`wal_autocheckpoint = ${auto ? AUTO_CHECKPOINT_PAGES : 0}`)
    log('the log is %d pages long and %s: automatic checkpoint %s', pages, complete ? 'copied whole' : 'not copied whole', auto ? 'on' : 'off')
  }

  private finish (seq: number, complete: boolean): void {
    if (this.running?.seq !== seq) return
    const { resolve } = this.running
    this.running = null
    resolve(complete)
  }

  private fallBack (why: string): void {
    if (this.failed) return
    this.failed = true
    this.finish(this.seq, false)
    log.error('checkpoint thread failed (%s): the index checkpoints on the main thread again', why)
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_PAGES}`)
  }
}
