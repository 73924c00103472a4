/**
 * The download engine: fetch one content id from every provider at once.
 *
 * 1. The manifest comes from the first provider whose manifest hashes to the id.
 * 2. Resume: when a part file of this download exists, the chunks its resume state lists
 *    (every chunk when the state is missing or damaged) are hashed again; those that
 *    verify are kept and counted from the first progress event on.
 * 3. Chunks are handed out from one queue to a worker per provider. Each worker keeps a
 *    number of requests in flight that follows the provider's measured speed (fast
 *    providers get a deeper pipeline, slow ones hold few chunks), and pulls the next chunk
 *    as one completes, so faster providers serve more chunks.
 * 4. The sink: each request assembles its chunk in one buffer as the pieces arrive; the
 *    ChunkWriter thread hashes it and writes it at its position in the part file only when
 *    it matches the manifest, so a lying or late copy never touches the file. Second
 *    copies of a chunk (endgame) count against ENDGAME_BUFFER_BYTES per download. Once a
 *    chunk is verified, later copies are dropped: the first verified copy wins. The part
 *    file is flushed in the background every PART_FLUSH_BYTES (see part-file.ts).
 * 5. Endgame: when the queue is empty, a worker with room requests the oldest chunks still
 *    in flight elsewhere a second time, so a slow or stalled provider does not hold up the end.
 * 6. A chunk that fails verification is discarded and fetched elsewhere; its provider is
 *    dropped for this download and reported. A provider that fails (closes, stalls,
 *    refuses with BUSY/NOT_FOUND) loses only its in-flight chunks. Through a master, the
 *    provider list is asked again every PROVIDER_REFRESH_MS, so providers that appear
 *    (or come back) during a download are used.
 * 7. When every chunk is verified the part file is linked to its final name. On failure
 *    or interruption the part file and its resume state stay when they hold verified
 *    chunks (hidden names, never the final one); otherwise they are deleted.
 * 8. Connections (see dial.ts): direct first, the relay as fallback; a worker on a relayed
 *    connection moves to a direct one as soon as one exists, and a provider whose
 *    connection dropped (a relay limit, a restart) is re-dialled, up to PROVIDER_REDIALS
 *    times in a row without a verified chunk in between, before it is given up.
 */
import { createHash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import {
  chunkCount, chunkLength, chunkHash, formatContentId, manifestMatches, type Manifest
} from '../../content/content-id.js'
import { FetchRequest } from '../../protocols/fetch/pb/fetch.js'
import {
  DEFAULT_REQUESTS_IN_FLIGHT, PROGRESS_INTERVAL_MS, PROVIDER_REDIALS, MIN_REQUESTS_IN_FLIGHT,
  INITIAL_REQUESTS_IN_FLIGHT, DEPTH_TARGET_MS, RATE_WINDOW_MS, RATE_MIN_SPAN_MS, ENDGAME_BUFFER_BYTES, ENDGAME_MAX_COPIES, ENDGAME_STALE_MS, PROVIDER_REFRESH_MS,
  PROVIDER_RETRY_MS, BUSY_MAX_RETRIES
} from './tuning.js'
import { safeFileName } from '../../protocols/paths.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import type { FileShareNode } from '../../node/create-node.js'
import { connectionPath, type PathKind } from '../../node/addresses.js'
import { FetchSession, FetchError, isBusy, waitBusy, busyDelay } from '../../protocols/fetch/client.js'
import { openFetchStream, closeIdleRelayed } from './dial.js'
import { PartFile } from './part-file.js'
import { ChunkWriter } from './chunk-writer.js'
import { ResumeState, readResumeState, statePathFor, hasBit } from './resume-state.js'

const log = logger('fileshare:peer:download')

export interface ProviderRef {
  peer: PeerId
  /** addresses to dial (may be empty when the node already knows the peer) */
  addrs: Multiaddr[]
}

export interface ProviderStats {
  peer: string
  bytes: number
  /** 'direct' or 'relayed': the connection chunks are requested on now; in `done`, the one the last chunk came over */
  path: PathKind
  /** of `bytes`, how many came through a relay (the rest came direct) */
  relayedBytes?: number
}

export type DownloadEvent =
  | { event: 'progress', id: string, bytes: number, total: number, providers: ProviderStats[] }
  | { event: 'provider-dropped', id: string, peer: string, reason: string }
  | { event: 'checking', id: string, chunks: number }
  | { event: 'resumed', id: string, bytes: number, chunks: number }

export interface DownloadResult {
  id: string
  path: string
  bytes: number
  seconds: number
  providers: ProviderStats[]
  /** bytes that were already on disk from an interrupted run (re-verified) */
  resumedBytes: number
  /** the verified manifest (for seeding) */
  manifest: Manifest
}

export interface DownloadOptions {
  node: FileShareNode
  id: Uint8Array
  /** file name to write (reduced to a safe single name); default: the provider's name for it, else the id */
  name?: string
  outDir: string
  providers: ProviderRef[]
  /** asked every `refreshIntervalMs` for the current providers (new ones join the download) */
  refreshProviders?: () => Promise<ProviderRef[]>
  refreshIntervalMs?: number
  /** upper bound of requests in flight per provider (adapted below it to the provider's speed) */
  requestsInFlight?: number
  onEvent?: (event: DownloadEvent) => void
  /** called as each chunk verifies (library users and tests; not a CLI event) */
  onChunk?: (index: number, peer: string) => void
  signal?: AbortSignal
}

interface Worker {
  peer: string
  ref: ProviderRef
  session: FetchSession
  /** the path of `session`'s connection */
  path: PathKind
  /** a move to a direct connection is under way */
  moving?: boolean
  stats: ProviderStats
  /** chunks this worker has requested and not yet finished */
  chunks: Set<number>
  /** requests kept in flight: follows the measured speed */
  depth: number
  /** bytes per second over the last RATE_WINDOW_MS, 0 until the first chunk */
  rate: number
  lastDone: number
  started: number
  /** completions in the rate window: [time, bytes] */
  samples: Array<[number, number]>
  /** the bytes of `samples` */
  sampledBytes: number
  /** chunks of this worker being verified and written on the writer thread */
  writing: number
}

/** One chunk with requests in flight. */
interface Flight {
  copies: number
  /** the worker of the chunk's first request (endgame compares its provider's speed) */
  holder: Worker | null
}

export async function download (options: DownloadOptions): Promise<DownloadResult> {
  return await new Download(options).run()
}

class Download {
  private readonly idText: string
  private manifest!: Manifest
  private part!: PartFile
  private state!: ResumeState
  private verified!: Uint8Array
  private verifiedCount = 0
  private verifiedBytes = 0
  private resumedBytes = 0
  /** true while the chunks an earlier run left are hashed again */
  private recheckingPartFile = false
  private readonly queue: number[] = []
  private readonly flights = new Map<number, Flight>()
  private bufferedBytes = 0
  /** hashes and writes chunks beside the main thread, which decrypts the streams */
  private readonly writer = new ChunkWriter()
  /** chunks being verified and written, all workers */
  private writing = 0
  private readonly workers = new Map<string, Worker>()
  private readonly connecting = new Set<string>()
  private readonly stats = new Map<string, ProviderStats>()
  /** peer → when and why it was dropped */
  private readonly dropped = new Map<string, { at: number, reason: string }>()
  private readonly liars = new Set<string>()
  private readonly maxDepth: number
  private finish!: { resolve: () => void, reject: (err: Error) => void }
  private done = false
  private providerName = ''
  /** BUSY answers per provider so far, and retries waiting to dial */
  private readonly busyCount = new Map<string, number>()
  private readonly retryTimers = new Set<NodeJS.Timeout>()
  /** sessions being opened since the start (all providers are dialled at once) */
  private readonly early = new Map<string, Promise<FetchSession>>()
  /** the connection path each session was opened on */
  private readonly sessionPaths = new WeakMap<FetchSession, PathKind>()
  /** re-dials made per provider since its last verified chunk */
  private readonly redials = new Map<string, number>()

  constructor (private readonly options: DownloadOptions) {
    this.idText = formatContentId(options.id)
    this.maxDepth = Math.max(MIN_REQUESTS_IN_FLIGHT, options.requestsInFlight ?? DEFAULT_REQUESTS_IN_FLIGHT)
  }

  async run (): Promise<DownloadResult> {
    const started = Date.now()
    const providers = this.options.providers.filter(p => !this.isSelf(p))
    if (providers.length === 0) {
      await this.writer.close()
      throw new FileShareError('NO_PROVIDER', `no provider for ${this.idText}`)
    }

    // dial every provider at once; the manifest comes from the first whose session opens
    for (const p of providers) this.dialEarly(p)
    const first = await this.fetchManifest(providers).catch(async err => {
      this.closeEarly()
      await this.writer.close()
      // an abort shows up as failed dials: report it as what it is
      throw this.options.signal?.aborted === true ? new FileShareError('ABORTED', 'download aborted') : err
    })
    const name = this.options.name ?? (this.providerName !== '' ? this.providerName : this.idText)
    const total = chunkCount(this.manifest.size, this.manifest.chunkSize)
    let progressTimer: NodeJS.Timeout | undefined
    let refreshTimer: NodeJS.Timeout | undefined
    const onAbort = (): void => { this.finish.reject(new FileShareError('ABORTED', 'download aborted')) }
    try {
      this.part = new PartFile(this.options.outDir, safeFileName(name), this.idText, this.manifest.size)
      this.verified = new Uint8Array(total)
      const meta = { id: this.idText, size: this.manifest.size, chunkSize: this.manifest.chunkSize, chunks: total }
      this.state = new ResumeState(statePathFor(this.part.path), meta)
      const claimed = this.part.existed ? readResumeState(this.state.path, meta) : null
      if (this.part.existed) await this.keepVerifiedChunks(claimed)
      else this.state.remove() // a stale state without its part file
      for (let i = 0; i < total; i++) if (this.verified[i] === 0) this.queue.push(i)

      const completed = new Promise<void>((resolve, reject) => {
        this.finish = {
          resolve: () => { this.done = true; resolve() },
          reject: (err) => { this.done = true; reject(err) }
        }
      })
      if (this.options.signal?.aborted === true) onAbort()
      this.options.signal?.addEventListener('abort', onAbort)
      progressTimer = setInterval(() => {
        this.emitProgress()
        // idle workers look again for endgame copies (a holder may have become stale since)
        if (this.queue.length === 0) for (const w of [...this.workers.values()]) this.fill(w)
      }, PROGRESS_INTERVAL_MS)
      if (this.resumedBytes > 0) this.options.onEvent?.({ event: 'resumed', id: this.idText, bytes: this.resumedBytes, chunks: this.verifiedCount })
      this.emitProgress()
      if (this.verifiedCount === total) this.finish.resolve()
      this.addWorker(first.provider, first.session)
      for (const p of providers) {
        if (p === first.provider) continue
        if (!this.dropped.has(p.peer.toString())) void this.connect(p)
        else if (this.busyCount.has(p.peer.toString())) this.retryBusy(p)
      }
      if (this.options.refreshProviders != null) {
        refreshTimer = setInterval(() => { void this.refresh() }, this.options.refreshIntervalMs ?? PROVIDER_REFRESH_MS)
      }
      await completed
      // the writer thread must be gone before the descriptor it writes through is closed
      await this.writer.close()
      this.emitProgress()
      const path = this.part.commit()
      this.state.remove()
      return {
        id: this.idText,
        path,
        bytes: this.manifest.size,
        seconds: (Date.now() - started) / 1000,
        providers: [...this.stats.values()],
        resumedBytes: this.resumedBytes,
        manifest: this.manifest
      }
    } catch (err) {
      this.done = true
      first.session.abort(new FileShareError('ABORTED', 'download ended'))
      await this.writer.close()
      this.keepForResume()
      throw err
    } finally {
      clearInterval(progressTimer)
      clearInterval(refreshTimer)
      for (const t of this.retryTimers) clearTimeout(t)
      this.options.signal?.removeEventListener('abort', onAbort)
      // sessions dialled at the start that no worker took (the download ended first)
      this.closeEarly()
      await Promise.all([...this.workers.values()].map(async w => {
        // duplicates may still be in flight: do not wait for their bytes
        if (w.session.inFlight > 0) w.session.abort(new FileShareError('ABORTED', 'download finished'))
        else await w.session.close()
      }))
      this.workers.clear()
    }
  }

  /** After a failure: keep the part file and its state when they hold verified chunks. */
  private keepForResume (): void {
    if (this.part == null) return
    if (this.recheckingPartFile) {
      // stopped while checking what an earlier run left: leave its part file and state as they are
      this.part.close()
      return
    }
    if (this.verifiedCount > 0) {
      this.part.close()
      this.state.flush()
      return
    }
    this.part.discard()
    this.state.remove()
  }

  /** Re-hashes the chunks an earlier run left (those its state lists, or all without a valid state). */
  private async keepVerifiedChunks (claimed: Uint8Array | null): Promise<void> {
    const buf = Buffer.allocUnsafe(this.manifest.chunkSize)
    this.recheckingPartFile = true
    let toCheck = this.verified.length
    if (claimed != null) {
      toCheck = 0
      for (let index = 0; index < this.verified.length; index++) if (hasBit(claimed, index)) toCheck++
    }
    this.options.onEvent?.({ event: 'checking', id: this.idText, chunks: toCheck })
    for (let index = 0; index < this.verified.length; index++) {
      // an abort (Ctrl-C) stops the check at once; the files stay as they were (keepForResume)
      if (this.options.signal?.aborted === true) throw new FileShareError('ABORTED', 'download aborted while checking the part file')
      if (claimed != null && !hasBit(claimed, index)) continue
      const length = chunkLength(this.manifest, index)
      const view = buf.subarray(0, length)
      if (await this.part.read(view, index * this.manifest.chunkSize) !== length) continue
      if (!createHash('sha256').update(view).digest().equals(chunkHash(this.manifest, index))) continue
      this.verified[index] = 1
      this.verifiedCount++
      this.verifiedBytes += length
    }
    // recorded only now: a state written halfway through would forget the claims not yet checked
    for (let index = 0; index < this.verified.length; index++) if (this.verified[index] === 1) this.state.set(index)
    this.recheckingPartFile = false
    this.resumedBytes = this.verifiedBytes
    log('resuming %s: %d of %d chunks kept (%s state)', this.idText, this.verifiedCount, this.verified.length, claimed != null ? 'valid' : 'no valid')
    this.state.flush()
  }

  /**
   * Asks providers for the manifest in the order their sessions open (an unreachable
   * provider first in the list does not delay the start); the first manifest that hashes
   * to the id wins.
   */
  private async fetchManifest (providers: ProviderRef[]): Promise<{ provider: ProviderRef, session: FetchSession }> {
    const remaining = new Set(providers)
    for (let round = 0; ; round++) {
      const found = await this.fetchManifestFrom(remaining)
      if (found != null) return found
      // every provider failed: wait for those that were only BUSY, then ask them again
      const busy = providers.filter(p => (this.busyCount.get(p.peer.toString()) ?? 0) === round + 1)
      if (busy.length === 0 || round + 1 >= BUSY_MAX_RETRIES) break
      await waitBusy(round + 1, this.options.signal)
      for (const p of busy) {
        this.dialEarly(p)
        remaining.add(p)
      }
    }
    throw new FileShareError(this.liars.size > 0 && this.liars.size === this.dropped.size ? 'VERIFICATION_FAILED' : 'NO_PROVIDER',
      `no provider could send ${this.idText} (${this.reasons()})`)
  }

  private async fetchManifestFrom (remaining: Set<ProviderRef>): Promise<{ provider: ProviderRef, session: FetchSession } | null> {
    while (remaining.size > 0) {
      const provider = await Promise.race([...remaining].map(async p => {
        await this.early.get(p.peer.toString())?.catch(() => {})
        return p
      }))
      remaining.delete(provider)
      const peer = provider.peer.toString()
      let session: FetchSession | undefined
      try {
        session = await this.sessionFor(provider)
        const { manifest, name } = await session.manifest(this.options.id)
        if (!manifestMatches(manifest, this.options.id)) {
          this.liars.add(peer)
          this.drop(peer, 'sent a manifest that does not match the content id')
          session.abort(new FileShareError('VERIFICATION_FAILED', 'bad manifest'))
          continue
        }
        this.manifest = manifest
        this.providerName = name
        return { provider, session }
      } catch (err: any) {
        session?.abort(err)
        if (isBusy(err)) this.busyCount.set(peer, (this.busyCount.get(peer) ?? 0) + 1)
        this.drop(peer, toFileShareError(err, 'NETWORK').message)
      }
    }
    return null
  }

  /** Dials a provider that answered BUSY again later (with backoff); false once it has been asked enough. */
  private retryBusy (provider: ProviderRef): boolean {
    const peer = provider.peer.toString()
    const count = this.busyCount.get(peer) ?? 0
    if (count >= BUSY_MAX_RETRIES || this.done) return false
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer)
      if (!this.done && !this.workers.has(peer) && !this.connecting.has(peer)) void this.connect(provider)
      else this.checkStalled()
    }, busyDelay(count))
    this.retryTimers.add(timer)
    return true
  }

  /** Opens a fetch stream to a provider: the one place that dials providers. */
  private async openSession (provider: ProviderRef): Promise<FetchSession> {
    const { stream, path } = await openFetchStream(this.options.node, provider, this.options.signal)
    const session = new FetchSession(stream)
    this.sessionPaths.set(session, path)
    return session
  }

  /** Starts opening a session to `provider` now, for sessionFor() to take. */
  private dialEarly (provider: ProviderRef): void {
    const opening = this.openSession(provider)
    opening.catch(() => {}) // handled where it is awaited (sessionFor)
    this.early.set(provider.peer.toString(), opening)
  }

  /** Closes the sessions dialled early that nobody took. */
  private closeEarly (): void {
    for (const pending of this.early.values()) void pending.then(async s => { await s.close() }, () => {})
    this.early.clear()
  }

  /** The session dialled at the start for this provider (once), else a new one. */
  private async sessionFor (provider: ProviderRef): Promise<FetchSession> {
    const key = provider.peer.toString()
    const early = this.early.get(key)
    this.early.delete(key)
    return await (early ?? this.openSession(provider))
  }

  private isSelf (provider: ProviderRef): boolean {
    return provider.peer.toString() === this.options.node.peerId.toString()
  }

  /** Adds providers the master lists now that are not in use (liars never come back). */
  private refreshing = false
  private async refresh (): Promise<void> {
    if (this.refreshing || this.done) return
    this.refreshing = true
    try {
      const providers = await this.options.refreshProviders!()
      for (const p of providers) {
        const peer = p.peer.toString()
        if (this.done || this.isSelf(p) || this.workers.has(peer) || this.connecting.has(peer) || this.liars.has(peer)) continue
        const dropped = this.dropped.get(peer)
        if (dropped != null && Date.now() - dropped.at < PROVIDER_RETRY_MS) continue
        log('provider %s joins the download', peer)
        void this.connect(p)
      }
    } catch (err: any) {
      log('provider refresh failed: %s', err?.message ?? err)
    } finally {
      this.refreshing = false
    }
  }

  private async connect (provider: ProviderRef): Promise<void> {
    const peer = provider.peer.toString()
    if (this.done) return
    this.connecting.add(peer)
    try {
      const session = await this.sessionFor(provider)
      if (this.done) {
        await session.close()
        return
      }
      this.addWorker(provider, session)
    } catch (err: any) {
      if (!this.done) this.drop(peer, toFileShareError(err, 'NETWORK').message)
    } finally {
      this.connecting.delete(peer)
      this.checkStalled()
    }
  }

  private addWorker (provider: ProviderRef, session: FetchSession): void {
    const peer = provider.peer.toString()
    const path = this.sessionPaths.get(session)!
    const stats = this.stats.get(peer) ?? { peer, bytes: 0, path, relayedBytes: 0 }
    stats.path = path
    this.stats.set(peer, stats)
    const worker: Worker = {
      peer, ref: provider, session, path, stats, chunks: new Set(), depth: Math.min(this.maxDepth, INITIAL_REQUESTS_IN_FLIGHT), rate: 0, lastDone: 0, started: Date.now(), samples: [], sampledBytes: 0, writing: 0
    }
    this.workers.set(peer, worker)
    this.fill(worker)
  }

  /** Keeps up to `worker.depth` chunk requests in flight: queued chunks first, then endgame copies. */
  private fill (worker: Worker): void {
    // chunks being verified and written count against the depth: that bounds memory
    while (!this.done && worker.chunks.size + worker.writing < worker.depth && this.workers.get(worker.peer) === worker) {
      const index = this.nextQueued() ?? this.endgameChunk(worker)
      if (index == null) return
      this.requestChunk(worker, index)
    }
  }

  private nextQueued (): number | undefined {
    while (this.queue.length > 0) {
      const index = this.queue.shift()!
      if (this.verified[index] === 0 && !this.flights.has(index)) return index
    }
    return undefined
  }

  /**
   * A chunk in flight elsewhere that may get another copy (memory permitting): the one
   * whose holder is slowest, and only when that holder is not faster than this worker (a
   * holder that has finished nothing for ENDGAME_STALE_MS counts as speed 0); oldest first on ties.
   */
  private endgameChunk (worker: Worker): number | undefined {
    if (this.bufferedBytes + this.manifest.chunkSize > ENDGAME_BUFFER_BYTES) return undefined
    const now = Date.now()
    // a worker that has not finished a chunk yet is given the benefit of the doubt: a
    // provider that joins late may well be faster than the one holding the last chunks
    const mine = worker.lastDone === 0 ? Infinity : worker.rate
    let best: number | undefined
    let bestRate = Infinity
    for (const [index, flight] of this.flights) {
      if (flight.copies >= ENDGAME_MAX_COPIES || worker.chunks.has(index) || this.verified[index] !== 0) continue
      const holder = flight.holder
      const rate = holder == null || now - Math.max(holder.lastDone, holder.started) > ENDGAME_STALE_MS ? 0 : holder.rate
      if (rate > mine || rate >= bestRate) continue
      best = index
      bestRate = rate
    }
    return best
  }

  private requestChunk (worker: Worker, index: number): void {
    const { manifest } = this
    const length = chunkLength(manifest, index)
    const position = index * manifest.chunkSize
    let flight = this.flights.get(index)
    if (flight == null) {
      flight = { copies: 0, holder: null }
      this.flights.set(index, flight)
    }
    flight.copies++
    worker.chunks.add(index)
    // the first request is the chunk's holder (endgame measures its speed); a second copy
    // counts against the endgame memory budget
    const holder = flight.holder == null
    if (holder) flight.holder = worker
    else {
      this.bufferedBytes += length
      log('endgame: chunk %d asked again from %s', index, worker.peer)
    }
    const f = flight
    const settle = (): void => {
      worker.chunks.delete(index)
      f.copies--
      if (f.holder === worker) f.holder = null
      if (!holder) this.bufferedBytes -= length
      if (f.copies === 0 && this.flights.get(index) === f) this.flights.delete(index)
    }
    // the chunk is copied piece by piece as it arrives (while the decrypted bytes are still
    // in the CPU cache) into one buffer that then moves to the writer thread without a copy
    let chunk: Buffer | null = null
    let received = 0
    const { session, path } = worker
    session.request({ kind: FetchRequest.Kind.CHUNK, id: this.options.id, index, name: '' }, {
      length,
      exact: true,
      data: piece => {
        if (this.done) return
        chunk ??= this.writer.acquire(length)
        chunk.set(piece, received)
        received += piece.length
      },
      end: () => {
        settle()
        if (this.done) return
        if (this.verified[index] === 1) {
          // another copy won the endgame race
          this.fill(worker)
          return
        }
        worker.writing++
        this.writing++
        void this.verifyAndWrite(worker, session, path, index, chunk!, position)
        chunk = null
      },
      fail: err => {
        settle()
        if (this.done) return
        this.requeue(index)
        if (session !== worker.session) {
          // the worker moved to a direct connection: only this old session's chunk is lost
          this.retireSession(session, worker)
          for (const w of [...this.workers.values()]) this.fill(w)
          return
        }
        if (isBusy(err) && this.workers.get(worker.peer) === worker) {
          this.busyCount.set(worker.peer, (this.busyCount.get(worker.peer) ?? 0) + 1)
          this.retryBusy(worker.ref)
        }
        this.removeWorker(worker, toFileShareError(err, 'NETWORK').message, !(err instanceof FetchError))
      }
    })
  }

  /**
   * Hashes the chunk on the writer thread and writes it at its position only when it
   * matches the manifest: a lying or late copy never touches the part file. (Two verified
   * copies of one chunk write the same bytes.)
   */
  private async verifyAndWrite (worker: Worker, session: FetchSession, path: PathKind, index: number, chunk: Uint8Array, position: number): Promise<void> {
    const length = chunk.length
    let ok: boolean
    try {
      ok = await this.writer.verifyAndWrite(this.part.descriptor, position, chunk, chunkHash(this.manifest, index))
    } catch (err: any) {
      ok = false
      if (!this.done) this.finish.reject(toFileShareError(err, 'IO'))
    } finally {
      worker.writing--
      this.writing--
    }
    if (this.done) return
    if (!ok) {
      this.requeue(index)
      this.liars.add(worker.peer)
      this.removeWorker(worker, `chunk ${index} failed verification`)
      this.checkStalled() // the worker may be gone already: its last write decides
      return
    }
    this.part.wrote(length)
    if (this.verified[index] === 0) {
      if (path === 'relayed') worker.stats.relayedBytes = (worker.stats.relayedBytes ?? 0) + length
      worker.stats.path = path
      this.redials.delete(worker.peer)
      this.markVerified(worker, index, length)
      if (this.done) return
    }
    if (session !== worker.session) this.retireSession(session, worker)
    else this.moveToDirect(worker)
    this.fill(worker)
    this.checkStalled()
  }

  /** Puts a chunk back at the front of the queue unless it is verified or another copy is in flight. */
  private requeue (index: number): void {
    if (this.verified[index] === 0 && !this.flights.has(index)) this.queue.unshift(index)
  }

  private markVerified (worker: Worker, index: number, length: number): void {
    this.verified[index] = 1
    this.verifiedCount++
    this.verifiedBytes += length
    worker.stats.bytes += length
    this.state.set(index)
    // speed: bytes verified over a sliding window (chunks complete in bursts, so per-chunk
    // intervals are far too noisy), or since the worker started when it is younger
    const now = Date.now()
    worker.lastDone = now
    worker.samples.push([now, length])
    worker.sampledBytes += length
    while (worker.samples[0][0] < now - RATE_WINDOW_MS) worker.sampledBytes -= worker.samples.shift()![1]
    const span = Math.max(RATE_MIN_SPAN_MS, Math.min(RATE_WINDOW_MS, now - worker.started))
    worker.rate = worker.sampledBytes / span * 1000
    const want = Math.ceil(worker.rate * DEPTH_TARGET_MS / 1000 / this.manifest.chunkSize) + 1
    worker.depth = Math.max(MIN_REQUESTS_IN_FLIGHT, Math.min(this.maxDepth, want))
    log.trace('chunk %d from %s: rate %d kB/s, depth %d, in flight %d, queue %d', index, worker.peer.slice(-6), Math.round(worker.rate / 1000), worker.depth, worker.chunks.size, this.queue.length)
    this.options.onChunk?.(index, worker.peer)
    if (this.verifiedCount === this.verified.length) this.finish.resolve()
  }

  private removeWorker (worker: Worker, reason: string, connectionLost = false): void {
    if (this.workers.get(worker.peer) !== worker) return
    this.workers.delete(worker.peer)
    const lost = [...worker.chunks]
    worker.session.abort(new FileShareError('ABORTED', reason)) // fails (and settles) its other requests
    for (const index of lost) this.requeue(index)
    if (!(connectionLost && this.redial(worker, reason))) this.drop(worker.peer, reason)
    // the returned chunks go to the providers that are left
    for (const w of [...this.workers.values()]) this.fill(w)
    this.checkStalled()
  }

  /**
   * A provider whose connection dropped (a relay's data or time limit, a restart) is
   * dialled again, a bounded number of times: its verified chunks stay verified, its
   * unfinished ones went back to the queue.
   */
  private redial (worker: Worker, reason: string): boolean {
    const count = this.redials.get(worker.peer) ?? 0
    if (count >= PROVIDER_REDIALS || this.done) return false
    this.redials.set(worker.peer, count + 1)
    log('connection to %s lost (%s), dialling again (%d/%d)', worker.peer, reason, count + 1, PROVIDER_REDIALS)
    void this.connect(worker.ref)
    return true
  }

  /**
   * When a worker on a relayed connection finds a direct one to its provider (opened by
   * either side, see reachability.ts), new requests go to a session on the direct
   * connection; the relayed session finishes what it has in flight and is closed.
   */
  private moveToDirect (worker: Worker): void {
    if (worker.path !== 'relayed' || worker.moving === true) return
    if (connectionPath(this.options.node, worker.ref.peer) !== 'direct') return
    worker.moving = true
    this.openSession(worker.ref).then(session => {
      worker.moving = false
      if (this.workers.get(worker.peer) !== worker || this.done) {
        void session.close()
        return
      }
      const old = worker.session
      worker.session = session
      worker.path = this.sessionPaths.get(session)!
      worker.stats.path = worker.path
      log('provider %s: moved from the relay to a %s connection', worker.peer, worker.path)
      this.retireSession(old, worker)
      this.fill(worker)
    }, (err: any) => {
      worker.moving = false
      log('provider %s: direct session failed, staying on the relay: %s', worker.peer, err?.message ?? err)
    })
  }

  /** Closes a session a worker no longer uses once nothing is in flight on it, then the relayed connection it ran on. */
  private retireSession (session: FetchSession, worker: Worker): void {
    if (session.inFlight !== 0 || session.closed) return
    void session.close().then(() => { closeIdleRelayed(this.options.node, worker.ref.peer) })
  }

  private drop (peer: string, reason: string): void {
    log('dropping provider %s: %s', peer, reason)
    this.dropped.set(peer, { at: Date.now(), reason })
    this.options.onEvent?.({ event: 'provider-dropped', id: this.idText, peer, reason })
  }

  private reasons (): string {
    return [...this.dropped.entries()].map(([p, d]) => `${p.slice(-8)}: ${d.reason}`).join('; ')
  }

  /** Fails the download when no provider is left to fetch the missing chunks. */
  private checkStalled (): void {
    if (this.done || this.workers.size > 0 || this.connecting.size > 0 || this.retryTimers.size > 0 || this.writing > 0) return
    if (this.verifiedCount === this.verified.length) return
    this.finish.reject(new FileShareError(this.liars.size > 0 ? 'VERIFICATION_FAILED' : 'NO_PROVIDER',
      `no provider left for ${this.idText} with ${this.verified.length - this.verifiedCount} chunks missing (${this.reasons()})`))
  }

  private lastEmitted = -1
  private emitProgress (): void {
    if (this.verifiedBytes === this.lastEmitted && this.lastEmitted !== -1 && this.verifiedCount !== this.verified.length) return
    this.lastEmitted = this.verifiedBytes
    this.options.onEvent?.({
      event: 'progress',
      id: this.idText,
      bytes: this.verifiedBytes,
      total: this.manifest.size,
      providers: [...this.stats.values()].map(s => ({ ...s }))
    })
  }
}
