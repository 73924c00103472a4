/**
 * The download engine: fetch one content id from every provider at once. This module
 * wires the parts; each part explains itself in its own module.
 *
 * 1. Manifest (manifest.ts): every provider is dialled at once; the manifest comes from
 *    the first provider whose manifest hashes to the id.
 * 2. Resume (resume.ts): when a part file of this download exists, the chunks its resume
 *    state lists are hashed again; those that verify are kept and counted from the first
 *    progress event on.
 * 3. A worker per provider keeps a number of requests in flight that follows the
 *    provider's measured speed (rate.ts), and asks the scheduler (scheduler.ts) for the
 *    next chunk as one completes, so faster providers serve more chunks. When the queue is
 *    empty, the scheduler hands out endgame copies of chunks in flight elsewhere.
 * 4. The sink: each request assembles its chunk in one buffer as the pieces arrive; the
 *    ChunkWriter thread hashes it and writes it at its position in the part file only when
 *    it matches the manifest, so a lying or late copy never touches the file. Once a chunk
 *    is verified, later copies are dropped: the first verified copy wins. The part file is
 *    flushed in the background every PART_FLUSH_BYTES (see part-file.ts).
 * 5. A chunk that fails verification is discarded and fetched elsewhere; its provider is
 *    dropped for this download and reported. A provider that fails (closes, stalls,
 *    refuses with BUSY/NOT_FOUND) loses only its in-flight chunks. Dials, re-dials, BUSY
 *    retries, the provider refresh through a master and moves from relayed to direct
 *    connections are the provider pool's (provider-pool.ts).
 * 6. Progress and per-provider stats: progress.ts.
 * 6a. Swarming: a provider the lookup marks partial (another downloader) is asked HAVE
 *    first; it joins the scheduler with its bitfield and each HAVE frame announces a chunk
 *    it gained, so it is asked only for chunks it holds (rarest first, scheduler.ts). One
 *    with nothing to give is asked HAVE again every HAVE_KEEPALIVE_MS. When no provider
 *    holds a missing chunk, the download waits MISSING_CHUNKS_TIMEOUT_MS for a HAVE or a
 *    new provider, then fails. With `partial`, this download's own verified chunks are
 *    announced to its caller, which serves them (peer.ts).
 * 6b. Sharing the seeders' work: the swarm this download knows (itself, its partial
 *    providers and the other downloaders the master lists, dialled or not) splits the
 *    chunks evenly (swarm-share.ts); the scheduler asks complete providers only for this
 *    download's share while other members' chunks are still out of the swarm, so a seeder
 *    sends each chunk to about one downloader and the downloaders trade the rest. Every
 *    member computes the same split from what it knows; where views differ, the cost is a
 *    duplicate, never a missing chunk (a download with nothing in flight asks for anything).
 *    In a swarm each pipeline is one request shorter (rate.ts: swarmDepth).
 * 7. When every chunk is verified the part file is linked to its final name. On failure
 *    or interruption the part file and its resume state stay when they hold verified
 *    chunks (hidden names, never the final one); otherwise they are deleted.
 */
import { join } from 'node:path'
import { lstat } from 'node:fs/promises'
import { hashFile } from '../../content/hash-file.js'
import { logger } from '@libp2p/logger'
import { chunkHash, formatContentId, type Manifest } from '../../content/content-id.js'
import { FetchRequest } from '../../protocols/fetch/pb/fetch.js'
import { safeFileName } from '../../protocols/paths.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import type { PathKind } from '../../node/addresses.js'
import { type FetchSession, FetchError, isBusy } from '../../protocols/fetch/client.js'
import { HAVE_KEEPALIVE_MS } from '../../protocols/fetch/constants.js'
import { ChunkWriter } from './chunk-writer.js'
import { ResumablePart } from './resume.js'
import { fetchManifest } from './manifest.js'
import { ChunkScheduler, type ScheduledProvider } from './scheduler.js'
import { swarmShare } from './swarm-share.js'
import { RateEstimator, DownloadRateLimit, maxDepthFor, swarmDepth } from './rate.js'
import { Progress, type ProviderStats } from './progress.js'
import { ProviderPool, type ProviderLink } from './provider-pool.js'
import type { ProviderRef, DownloadOptions, DownloadResult } from './types.js'
import { MAX_PARTIAL_PROVIDERS, PROGRESS_INTERVAL_MS, PROVIDER_REFRESH_MS, PROVIDER_REFRESH_EARLY_MS, PROVIDER_REFRESH_EARLY_SPAN_MS, MISSING_CHUNKS_TIMEOUT_MS } from './tuning.js'
import { metrics } from '../../metrics/metrics.js'

export type { ProviderRef, DownloadOptions, DownloadResult, PartialCopy } from './types.js'
export type { ProviderStats, DownloadEvent } from './progress.js'

const log = logger('fileshare:peer:download')

interface Worker extends ProviderLink {
  stats: ProviderStats
  /** this provider in the scheduler: its chunks in flight */
  slot: ScheduledProvider
  /** its speed and the depth (requests kept in flight) that follows it */
  speed: RateEstimator
  /** chunks of this worker being verified and written on the writer thread */
  writing: number
  /** a partial provider: its HAVE frames announce chunks; when it was last asked anything */
  partial: boolean
  lastAsked: number
}

export async function download (options: DownloadOptions): Promise<DownloadResult> {
  return await new Download(options).run()
}

class Download {
  private readonly idText: string
  private readonly pool: ProviderPool
  private readonly progress: Progress
  private manifest!: Manifest
  private chunks!: ChunkScheduler
  private file!: ResumablePart
  private resumedBytes = 0
  /** hashes and writes chunks beside the main thread, which decrypts the streams */
  private readonly writer = new ChunkWriter()
  /** chunks being verified and written, all workers */
  private writing = 0
  /** bytes received for chunks not verified yet (smooth progress: counted per piece, not per byte) */
  private unverified = 0
  private readonly workers = new Map<string, Worker>()
  private readonly maxDepth: number
  /** maxDownloadRate: the next request waits for its turn (null: unlimited) */
  private readonly rateLimit: DownloadRateLimit | null
  /** one timer that fills the workers again when the rate limit allows the next request */
  private rateTimer: NodeJS.Timeout | undefined
  private finish!: { resolve: () => void, reject: (err: Error) => void }
  private done = false
  /** partial providers being asked HAVE (not workers yet) */
  private readonly joining = new Set<string>()
  /** since when no provider holds a chunk still missing */
  private starvedSince = 0
  /** since when no provider is left (in a swarm, see checkStalled) */
  private noProviderSince = 0
  /** a partial provider joined: this download is part of a swarm */
  private sawPartial = false
  /** other downloaders of this content are known (6b): pipelines are one request shorter (rate.ts: swarmDepth) */
  private swarming = false
  /** the caller serves our verified chunks (options.partial) since */
  private serving = false
  private partName = ''

  constructor (private readonly options: DownloadOptions) {
    this.idText = formatContentId(options.id)
    this.maxDepth = maxDepthFor(options.requestsInFlight)
    this.rateLimit = options.maxDownloadRate != null && options.maxDownloadRate > 0 ? new DownloadRateLimit(options.maxDownloadRate) : null
    this.progress = new Progress(this.idText, options.onEvent)
    this.pool = new ProviderPool(options.node, {
      ended: () => this.done,
      current: link => this.workers.get(link.peer) === link,
      working: peer => this.workers.has(peer) || this.joining.has(peer),
      wantsPartial: () => this.joining.size + [...this.workers.values()].filter(w => w.partial).length + this.pool.connectingCount < MAX_PARTIAL_PROVIDERS,
      start: (provider, session) => { this.addWorker(provider, session) },
      checkStalled: () => { this.checkStalled() },
      dropped: (peer, reason) => { this.progress.dropped(peer, reason) }
    }, options.signal)
  }

  async run (): Promise<DownloadResult> {
    const started = Date.now()
    const { options, pool } = this
    const providers = options.providers.filter(p => !pool.isSelf(p))
    if (providers.length === 0) {
      await this.writer.close()
      throw new FileShareError('NO_PROVIDER', `no provider for ${this.idText}`)
    }

    // dial every provider at once; the manifest comes from the first whose session opens
    const first = await fetchManifest(pool, providers, options.id, this.idText, options.signal, options.moreProviders).catch(async err => {
      pool.closeEarly()
      await this.writer.close()
      // an abort shows up as failed dials: report it as what it is
      throw options.signal?.aborted === true ? new FileShareError('ABORTED', 'download aborted') : err
    })
    const manifest = this.manifest = first.manifest
    const name = options.name ?? (first.name !== '' ? first.name : this.idText)
    let progressTimer: NodeJS.Timeout | undefined
    let refreshTimer: NodeJS.Timeout | undefined
    let earlyRefreshTimer: NodeJS.Timeout | undefined
    const onAbort = (): void => { this.finish.reject(new FileShareError('ABORTED', 'download aborted')) }
    try {
      // the same content already under the final name: nothing to download
      if (options.skipExisting === true && await holdsContent(join(options.outDir, safeFileName(name)), manifest.size, this.idText, options.signal)) {
        await first.session.close().catch(() => {})
        await this.writer.close()
        return { id: this.idText, path: join(options.outDir, safeFileName(name)), bytes: manifest.size, seconds: (Date.now() - started) / 1000, providers: [], resumedBytes: 0, partialBytes: 0, manifest, existing: true }
      }
      this.file = new ResumablePart(options.outDir, safeFileName(name), this.idText, manifest)
      await this.file.recheck(chunks => { this.progress.checking(chunks) }, options.signal)
      this.chunks = new ChunkScheduler({ size: manifest.size, chunkSize: manifest.chunkSize, verified: this.file.verified, liars: pool.liars, random: options.random })
      this.resumedBytes = this.chunks.verifiedBytes
      this.partName = safeFileName(name)
      if (!this.chunks.done) this.startServing()

      const completed = new Promise<void>((resolve, reject) => {
        this.finish = {
          resolve: () => { this.done = true; resolve() },
          reject: (err) => { this.done = true; reject(err) }
        }
      })
      if (options.signal?.aborted === true) onAbort()
      options.signal?.addEventListener('abort', onAbort)
      progressTimer = setInterval(() => {
        this.emitProgress()
        // idle workers look again: for endgame copies (a holder may have become stale since),
        // and a complete provider kept to our share once nothing is in flight (scheduler.ts)
        for (const w of [...this.workers.values()]) this.fill(w)
        this.keepPartialsAlive()
        this.checkStarved()
        if (this.noProviderSince !== 0) this.checkStalled()
      }, PROGRESS_INTERVAL_MS)
      if (this.resumedBytes > 0) this.progress.resumed(this.resumedBytes, this.chunks.verifiedCount)
      this.emitProgress()
      if (this.chunks.done) this.finish.resolve()
      // our share of the swarm the lookup showed, before the first requests: they then go to
      // our share (and at the swarm's depth) rather than to random chunks another member fetches
      this.rebalance()
      this.addWorker(first.provider, first.session)
      pool.connectAll(providers, first.provider)
      const fromMaster = options.refreshProviders
      // each refresh may bring other members of the swarm: our share is computed again
      const refresh = fromMaster == null ? undefined : async () => await fromMaster().finally(() => { if (!this.done) this.rebalance() })
      if (refresh != null) {
        const interval = options.refreshIntervalMs ?? PROVIDER_REFRESH_MS
        refreshTimer = setInterval(() => { void pool.refresh(refresh) }, interval)
        // sooner at first: other downloaders of a flash crowd become partial providers early
        if (interval > PROVIDER_REFRESH_EARLY_MS) {
          const until = Date.now() + PROVIDER_REFRESH_EARLY_SPAN_MS
          earlyRefreshTimer = setInterval(() => {
            if (Date.now() > until) clearInterval(earlyRefreshTimer)
            else void pool.refresh(refresh)
          }, PROVIDER_REFRESH_EARLY_MS)
        }
      }
      await completed
      // the writer thread must be gone before the descriptor it writes through is closed
      await this.writer.close()
      this.emitProgress()
      const path = this.file.commit()
      return {
        id: this.idText,
        path,
        bytes: manifest.size,
        seconds: (Date.now() - started) / 1000,
        providers: this.progress.providers(),
        resumedBytes: this.resumedBytes,
        partialBytes: this.progress.partialBytes(),
        manifest
      }
    } catch (err) {
      this.done = true
      first.session.abort(new FileShareError('ABORTED', 'download ended'))
      await this.writer.close()
      this.file?.keep(this.chunks?.verifiedCount ?? 0)
      throw err
    } finally {
      clearInterval(progressTimer)
      clearInterval(refreshTimer)
      clearInterval(earlyRefreshTimer)
      clearTimeout(this.rateTimer)
      options.signal?.removeEventListener('abort', onAbort)
      // retries, and sessions dialled at the start that no worker took (the download ended first)
      pool.stop()
      await Promise.all([...this.workers.values()].map(async w => {
        // duplicates may still be in flight: do not wait for their bytes
        if (w.session.inFlight > 0) w.session.abort(new FileShareError('ABORTED', 'download finished'))
        else await w.session.close()
      }))
      this.workers.clear()
    }
  }

  private addWorker (provider: ProviderRef, session: FetchSession): void {
    if (provider.partial !== true) {
      this.startWorker(provider, session, undefined)
      return
    }
    // a partial provider: its bitfield first; HAVE frames that arrive before the worker
    // exists (in the same read as the bitfield) are kept for it
    const peer = provider.peer.toString()
    this.sawPartial = true
    this.joining.add(peer)
    const asked = Date.now()
    const early: number[] = []
    session.have(this.options.id, this.chunks.total, index => {
      const worker = this.workers.get(peer)
      if (worker?.session === session) this.gained(worker, index)
      else early.push(index)
    }).then(has => {
      this.joining.delete(peer)
      if (this.done) {
        void session.close()
        return
      }
      if (has != null) for (const index of early) has[index] = 1
      log('partial provider %s holds %d of %d chunks (HAVE answered in %d ms)', peer, has == null ? this.chunks.total : has.reduce((n, b) => n + b, 0), this.chunks.total, Date.now() - asked)
      this.startWorker(provider, session, has ?? undefined)
    }, (err: any) => {
      this.joining.delete(peer)
      session.abort(toFileShareError(err, 'PROTOCOL'))
      if (!this.done) this.pool.drop(peer, `HAVE: ${toFileShareError(err, 'PROTOCOL').message}`)
      this.checkStalled()
    })
  }

  private startWorker (provider: ProviderRef, session: FetchSession, has: Uint8Array | undefined): void {
    const peer = provider.peer.toString()
    const path = this.pool.pathOf(session)
    const speed = new RateEstimator(Date.now(), this.maxDepth, this.manifest.chunkSize)
    const slot = this.chunks.addProvider(peer, speed, has)
    if (slot.removed) {
      // a liar (its BUSY retry came after its bad manifest): never asked again, never idle here
      void session.close()
      return
    }
    const partial = has != null
    const worker: Worker = { peer, ref: provider, session, path, stats: this.progress.provider(peer, path, partial), slot, speed, writing: 0, partial, lastAsked: Date.now() }
    this.workers.set(peer, worker)
    if (partial) this.rebalance()
    this.fill(worker)
  }

  /** Recomputes this download's share of the chunks among the swarm it knows (6b). */
  private rebalance (): void {
    const self = this.options.node.peerId.toString()
    const others = new Set([...this.workers.values()].filter(w => w.partial).map(w => w.peer))
    for (const peer of this.options.swarmMembers?.() ?? []) if (peer !== self && !this.pool.liars.has(peer)) others.add(peer)
    this.swarming = others.size > 0
    if (others.size === 0) {
      this.chunks.prefer(null)
      return
    }
    const mine = swarmShare(self, others, this.chunks.total)
    this.chunks.prefer(mine)
    // a complete provider may have chunks to give again (scheduler.ts: keptToShare)
    for (const w of [...this.workers.values()]) if (!w.partial) this.fill(w)
  }

  /** A partial provider's HAVE: it holds chunk `index` now. */
  private gained (worker: Worker, index: number): void {
    if (this.done || this.workers.get(worker.peer) !== worker) return
    this.chunks.announce(worker.slot, index)
    this.fill(worker)
  }

  /** Asks a partial provider HAVE again on its current session (keep-alive, or after a move to a direct connection). */
  private resyncHaves (worker: Worker): void {
    const session = worker.session
    worker.lastAsked = Date.now()
    session.have(this.options.id, this.chunks.total, index => {
      if (worker.session === session) this.gained(worker, index)
    }).then(has => {
      if (this.done || this.workers.get(worker.peer) !== worker) return
      for (let i = 0; i < this.chunks.total; i++) if (has == null || has[i] !== 0) this.chunks.announce(worker.slot, i)
      this.fill(worker)
    }, () => {}) // a failed session fails its chunk requests too: handled there
  }

  /** Partial providers with nothing to give are asked HAVE again now and then (the provider would close an idle stream). */
  private keepPartialsAlive (): void {
    const now = Date.now()
    for (const w of this.workers.values()) {
      if (w.partial && w.session.inFlight === 0 && now - w.lastAsked > HAVE_KEEPALIVE_MS) this.resyncHaves(w)
    }
  }

  /** Fails the download when no provider has held a missing chunk for MISSING_CHUNKS_TIMEOUT_MS. */
  private checkStarved (): void {
    if (this.done || !this.chunks.starved || this.writing > 0 || this.joining.size > 0) {
      this.starvedSince = 0
      return
    }
    const now = Date.now()
    if (this.starvedSince === 0) this.starvedSince = now
    else if (now - this.starvedSince > MISSING_CHUNKS_TIMEOUT_MS) {
      this.finish.reject(new FileShareError('NO_PROVIDER', `no provider of ${this.idText} has any of the ${this.chunks.total - this.chunks.verifiedCount} chunks still missing`))
    }
  }

  /**
   * The caller serves our verified chunks from now on: from the start of the download, so
   * that the swarm knows us (the split of the seeders' work, 6b) and dials us while
   * uplinks are still idle, before we hold a first chunk.
   */
  private startServing (): void {
    if (this.serving || this.options.partial == null) return
    this.serving = true
    this.options.partial.start({ manifest: this.manifest, name: this.partName, partPath: this.file.part.path, have: this.file.verified })
  }

  /** Keeps up to the worker's depth of chunk requests in flight: queued chunks first, then endgame copies. */
  private fill (worker: Worker): void {
    // chunks being verified and written count against the depth: that bounds memory
    const depth = this.swarming ? swarmDepth(worker.speed.depth) : worker.speed.depth
    while (!this.done && worker.slot.chunks.size + worker.writing < depth && this.workers.get(worker.peer) === worker) {
      // a relayed connection near its relay's data limit: new requests wait for a fresh one
      if (!this.pool.roomFor(worker, this.chunks.chunkSize, depth, () => {
        worker.stats.path = worker.path
        // HAVE frames come on the session that asked: ask on the new one
        if (worker.partial) this.resyncHaves(worker)
        this.fill(worker)
      }, () => { this.fill(worker) })) return
      const now = Date.now()
      if (this.rateLimit != null && this.waitForRate(now)) return
      const index = this.chunks.next(worker.slot, now)
      if (index === undefined) return
      worker.lastAsked = Date.now()
      this.rateLimit?.take(now, this.chunks.lengthOf(index))
      this.requestChunk(worker, index)
    }
  }

  /** True when the rate limit holds the next request back; then every worker is filled again once it may go. */
  private waitForRate (now: number): boolean {
    const ms = this.rateLimit!.wait(now)
    if (ms === 0) return false
    if (this.rateTimer == null) {
      this.rateTimer = setTimeout(() => {
        this.rateTimer = undefined
        for (const w of [...this.workers.values()]) this.fill(w)
      }, ms)
    }
    return true
  }

  private requestChunk (worker: Worker, index: number): void {
    const { chunks } = this
    const length = chunks.lengthOf(index)
    const position = index * chunks.chunkSize
    if (log.enabled && chunks.copies(index) > 1) log('endgame: chunk %d asked again from %s', index, worker.peer)
    else log.trace('chunk %d asked from %s (%s, %d holders)', index, worker.peer.slice(-6), worker.partial ? 'partial' : 'complete', chunks.holders(index))
    // the chunk is copied piece by piece as it arrives (while the decrypted bytes are still
    // in the CPU cache) into one buffer that then moves to the writer thread without a copy
    let chunk: Buffer | null = null
    let received = 0
    const { session, path, slot } = worker
    session.request({ kind: FetchRequest.Kind.CHUNK, id: this.options.id, index, name: '' }, {
      length,
      exact: true,
      data: piece => {
        if (this.done) return
        chunk ??= this.writer.acquire(length)
        chunk.set(piece, received)
        received += piece.length
        this.unverified += piece.length
      },
      end: () => {
        chunks.settle(slot, index)
        if (this.done) return
        if (chunks.isVerified(index)) {
          // another copy won the endgame race
          this.unverified -= received
          this.fill(worker)
          return
        }
        worker.writing++
        this.writing++
        void this.verifyAndWrite(worker, session, path, index, chunk!, position)
        chunk = null
      },
      fail: err => {
        chunks.settle(slot, index)
        this.unverified -= received
        if (this.done) return
        chunks.requeue(index)
        if (session !== worker.session) {
          // the worker moved to a direct connection: only this old session's chunk is lost
          this.pool.retireSession(session, worker)
          for (const w of [...this.workers.values()]) this.fill(w)
          return
        }
        if (isBusy(err) && this.workers.get(worker.peer) === worker) {
          this.pool.noteBusy(worker.peer)
          this.pool.retryBusy(worker.ref)
        }
        this.removeWorker(worker, toFileShareError(err, 'NETWORK').message, !(err instanceof FetchError) || this.pool.connectionGone(session))
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
      ok = await this.writer.verifyAndWrite(this.file.part.descriptor, position, chunk, chunkHash(this.manifest, index))
    } catch (err: any) {
      ok = false
      if (!this.done) this.finish.reject(toFileShareError(err, 'IO'))
    } finally {
      worker.writing--
      this.writing--
      this.unverified -= length
    }
    if (this.done) return
    if (!ok) {
      this.chunks.reject(worker.slot, index) // back to the queue; the provider is a liar
      metrics().chunkRejected()
      this.removeWorker(worker, `chunk ${index} failed verification`)
      this.checkStalled() // the worker may be gone already: its last write decides
      return
    }
    this.file.part.wrote(length)
    if (this.chunks.markVerified(index)) {
      metrics().chunkVerified(length)
      this.progress.chunk(worker.stats, length, path)
      // a late chunk of a session the worker left (it moved off the relay) does not turn the
      // reported path back: the path is the one requests go to now
      if (session !== worker.session) worker.stats.path = worker.path
      this.pool.delivered(worker.peer)
      this.file.state.set(index)
      worker.speed.record(Date.now(), length)
      log.trace('chunk %d from %s: rate %d kB/s, depth %d, in flight %d, queue %d', index, worker.peer.slice(-6), Math.round(worker.speed.rate / 1000), worker.speed.depth, worker.slot.chunks.size, this.chunks.queued)
      if (this.serving) this.options.partial?.gained(index)
      else this.startServing()
      this.options.onChunk?.(index, worker.peer)
      if (this.chunks.done) this.finish.resolve()
      if (this.done) return
    }
    if (session !== worker.session) this.pool.retireSession(session, worker)
    else {
      this.pool.moveToDirect(worker, () => {
        worker.stats.path = worker.path
        // HAVE frames come on the session that asked: ask on the new one
        if (worker.partial) this.resyncHaves(worker)
        this.fill(worker)
      })
    }
    this.fill(worker)
    this.checkStalled()
  }

  private removeWorker (worker: Worker, reason: string, connectionLost = false): void {
    if (this.workers.get(worker.peer) !== worker) return
    this.workers.delete(worker.peer)
    this.chunks.removeProvider(worker.slot) // its unfinished chunks go back to the queue
    if (worker.partial) this.rebalance()
    worker.session.abort(new FileShareError('ABORTED', reason)) // fails its other requests
    if (!(connectionLost && this.pool.redial(worker, reason))) this.pool.drop(worker.peer, reason)
    // the returned chunks go to the providers that are left
    for (const w of [...this.workers.values()]) this.fill(w)
    this.checkStalled()
  }

  /**
   * Fails the download when no provider is left to fetch the missing chunks. In a swarm
   * (partial providers were seen, a master lists providers again) it waits up to
   * MISSING_CHUNKS_TIMEOUT_MS first: on crowded uplinks dials to other downloaders fail
   * and succeed again, and the refresh brings them back.
   */
  private checkStalled (): void {
    if (this.done || this.workers.size > 0 || this.joining.size > 0 || this.pool.pending || this.writing > 0) {
      this.noProviderSince = 0
      return
    }
    if (this.chunks.done) return
    if (this.sawPartial && this.options.refreshProviders != null && this.pool.liars.size === 0) {
      const now = Date.now()
      if (this.noProviderSince === 0) this.noProviderSince = now
      if (now - this.noProviderSince < MISSING_CHUNKS_TIMEOUT_MS) return
    }
    this.finish.reject(new FileShareError(this.pool.liars.size > 0 ? 'VERIFICATION_FAILED' : 'NO_PROVIDER',
      `no provider left for ${this.idText} with ${this.chunks.total - this.chunks.verifiedCount} chunks missing (${this.pool.reasons()})`))
  }

  private emitProgress (): void {
    const verified = this.chunks.verifiedBytes
    this.progress.emit(verified, this.manifest.size, this.chunks.done, Math.min(this.manifest.size, verified + Math.max(0, this.unverified)))
  }
}

/** True when `path` is a regular file of `size` bytes whose content id is `idText`. */
async function holdsContent (path: string, size: number, idText: string, signal?: AbortSignal): Promise<boolean> {
  const st = await lstat(path).catch(() => null)
  if (st == null || !st.isFile() || st.size !== size) return false
  const hashed = await hashFile(path, { signal }).catch(() => null)
  return hashed != null && formatContentId(hashed.id) === idText
}
