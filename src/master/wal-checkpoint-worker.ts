/**
 * The thread behind WalCheckpointer: its own connection to the index file, which copies
 * the write-ahead log back into the database on request (a PASSIVE checkpoint: it never
 * waits for, nor blocks, the master's reads and writes). The checkpoint's page copies and
 * fsync happen here, off the master's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

export interface CheckpointWorkerData { file: string }
/** `close`: close the connection and answer `{ closed: true }` (the master then closes its own, the last) */
export type CheckpointRequest = { seq: number } | { close: true }
/** `complete`: the whole log is in the database (the next write starts the log afresh); `pages`: the log's length */
export type CheckpointReply = { seq: number, complete: boolean, pages: number } | { seq: number, error: string } | { closed: true }

const { file } = workerData as CheckpointWorkerData
const db = new Database(file, { fileMustExist: true })
parentPort?.on('message', (request: CheckpointRequest) => {
  if ('close' in request) {
    db.close()
    parentPort?.postMessage({ closed: true } satisfies CheckpointReply)
    return
  }
  const { seq } = request
  let reply: CheckpointReply
  try {
    const [{ busy, log, checkpointed }] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number, log: number, checkpointed: number }>
    reply = { seq, complete: busy === 0 && checkpointed === log, pages: log }
  } catch (err: any) {
    reply = { seq, error: String(err?.code ?? err?.message ?? err) }
  }
  parentPort?.postMessage(reply)
})
