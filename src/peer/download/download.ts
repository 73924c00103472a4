/**
 * The download engine: fetch one content id from every provider at once.
 *
 * 1. The manifest comes from the first provider whose manifest hashes to the id.
 * 2. Chunks are handed out from one queue to a worker per provider; each worker keeps up
 *    to `requestsInFlight` chunk requests outstanding on its fetch stream.
 * 3. Every chunk is hashed as its bytes arrive and written at its position in the part
 *    file; when its last byte is in, the hash decides: verified (counted, never fetched
 *    again) or not (the chunk goes back to the queue and the provider is dropped for
 *    this download: it lied, or its file changed).
 * 4. A provider that fails (closes, stalls, refuses) loses only its in-flight chunks,
 *    which go back to the queue for the others.
 * 5. When every chunk is verified the part file is linked to its final name.
 * Connections (see dial.ts): direct first, the relay as fallback; a worker on a relayed
 * connection moves to a direct one as soon as one exists, and a provider whose
 * connection dropped (a relay limit, a restart) is re-dialled, up to PROVIDER_REDIALS
 * times in a row without a verified chunk in between, before it is given up. Verified chunks are never fetched again.
 */
import { createHash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import {
  chunkCount, chunkLength, chunkHash, formatContentId, manifestMatches, type Manifest
} from '../../content/content-id.js'
import { FetchRequest } from '../../protocol/pb/fetch.js'
import { DEFAULT_REQUESTS_IN_FLIGHT, PROGRESS_INTERVAL_MS, PROVIDER_REDIALS } from '../../protocol/limits.js'
import { safeFileName } from '../../protocol/paths.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import { connectionPath, type FileShareNode } from '../../node/create-node.js'
import { FetchSession, FetchError } from './fetch-session.js'
import { openFetchStream, closeIdleRelayed, type PathKind } from './dial.js'
import { PartFile } from './part-file.js'

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
  path: 'direct' | 'relayed'
  /** of `bytes`, how many came through a relay (the rest came direct) */
  relayedBytes?: number
}

export type DownloadEvent =
  | { event: 'progress', id: string, bytes: number, total: number, providers: ProviderStats[] }
  | { event: 'provider-dropped', id: string, peer: string, reason: string }

export interface DownloadResult {
  id: string
  path: string
  bytes: number
  seconds: number
  providers: ProviderStats[]
}

export interface DownloadOptions {
  node: FileShareNode
  id: Uint8Array
  /** file name to write (reduced to a safe single name); default: the provider's name for it, else the id */
  name?: string
  outDir: string
  providers: ProviderRef[]
  requestsInFlight?: number
  onEvent?: (event: DownloadEvent) => void
  signal?: AbortSignal
}

interface Worker {
  peer: string
  provider: ProviderRef
  session: FetchSession
  /** the path of `session`'s connection */
  path: PathKind
  /** a move to a direct connection is under way */
  moving?: boolean
  stats: ProviderStats
  /** chunks this worker has requested and not yet finished */
  chunks: Set<number>
}

export async function download (options: DownloadOptions): Promise<DownloadResult> {
  return await new Download(options).run()
}

class Download {
  private readonly idText: string
  private manifest!: Manifest
  private part!: PartFile
  private verified!: Uint8Array
  private verifiedCount = 0
  private verifiedBytes = 0
  private readonly queue: number[] = []
  private readonly workers = new Map<string, Worker>()
  private readonly stats = new Map<string, ProviderStats>()
  private readonly dropped = new Map<string, string>()
  private readonly depth: number
  private finish!: { resolve: () => void, reject: (err: Error) => void }
  private connecting = 0
  private providerName = ''
  /** the connection path each session was opened on */
  private readonly sessionPaths = new WeakMap<FetchSession, PathKind>()
  /** re-dials made per provider since its last verified chunk */
  private readonly redials = new Map<string, number>()

  constructor (private readonly options: DownloadOptions) {
    this.idText = formatContentId(options.id)
    this.depth = options.requestsInFlight ?? DEFAULT_REQUESTS_IN_FLIGHT
  }

  async run (): Promise<DownloadResult> {
    const started = Date.now()
    const self = this.options.node.peerId.toString()
    const providers = this.options.providers.filter(p => p.peer.toString() !== self)
    if (providers.length === 0) throw new FileShareError('NO_PROVIDER', `no provider for ${this.idText}`)

    const first = await this.fetchManifest(providers)
    const name = this.options.name ?? (this.providerName !== '' ? this.providerName : this.idText)
    this.part = new PartFile(this.options.outDir, safeFileName(name), this.idText, this.manifest.size)
    const total = chunkCount(this.manifest.size, this.manifest.chunkSize)
    this.verified = new Uint8Array(total)
    for (let i = 0; i < total; i++) this.queue.push(i)

    const progressTimer = setInterval(() => { this.emitProgress() }, PROGRESS_INTERVAL_MS)
    const onAbort = (): void => { this.finish.reject(new FileShareError('ABORTED', 'download aborted')) }
    try {
      const completed = new Promise<void>((resolve, reject) => { this.finish = { resolve, reject } })
      this.options.signal?.addEventListener('abort', onAbort)
      this.emitProgress()
      if (total === 0) this.finish.resolve()
      this.addWorker(first.provider, first.session)
      for (const p of providers) {
        if (p !== first.provider) void this.connect(p)
      }
      await completed
      this.emitProgress()
      const path = this.part.commit()
      return {
        id: this.idText,
        path,
        bytes: this.manifest.size,
        seconds: (Date.now() - started) / 1000,
        providers: [...this.stats.values()]
      }
    } catch (err) {
      this.part.discard()
      throw err
    } finally {
      clearInterval(progressTimer)
      this.options.signal?.removeEventListener('abort', onAbort)
      await Promise.all([...this.workers.values()].map(async w => { await w.session.close() }))
      this.workers.clear()
    }
  }

  /** Asks providers in turn for the manifest; the first that hashes to the id wins. */
  private async fetchManifest (providers: ProviderRef[]): Promise<{ provider: ProviderRef, session: FetchSession }> {
    for (const provider of providers) {
      const peer = provider.peer.toString()
      let session: FetchSession | undefined
      try {
        session = await this.openSession(provider)
        const { manifest, name } = await session.manifest(this.options.id)
        if (!manifestMatches(manifest, this.options.id)) {
          this.drop(peer, 'sent a manifest that does not match the content id')
          session.abort(new FileShareError('VERIFICATION_FAILED', 'bad manifest'))
          continue
        }
        this.manifest = manifest
        this.providerName = name
        return { provider, session }
      } catch (err: any) {
        session?.abort(err)
        this.drop(peer, toFileShareError(err, 'NETWORK').message)
      }
    }
    const reasons = [...this.dropped.entries()].map(([p, r]) => `${p.slice(-8)}: ${r}`).join('; ')
    const allLied = [...this.dropped.values()].every(r => r.includes('does not match'))
    throw new FileShareError(allLied ? 'VERIFICATION_FAILED' : 'NO_PROVIDER', `no provider could send ${this.idText} (${reasons})`)
  }

  private async openSession (provider: ProviderRef): Promise<FetchSession> {
    const { stream, path } = await openFetchStream(this.options.node, provider, this.options.signal)
    const session = new FetchSession(stream)
    this.sessionPaths.set(session, path)
    return session
  }

  private async connect (provider: ProviderRef): Promise<void> {
    this.connecting++
    try {
      const session = await this.openSession(provider)
      if (this.verifiedCount === this.verified.length) {
        await session.close()
        return
      }
      this.addWorker(provider, session)
    } catch (err: any) {
      this.drop(provider.peer.toString(), toFileShareError(err, 'NETWORK').message)
    } finally {
      this.connecting--
      this.checkStalled()
    }
  }

  private addWorker (provider: ProviderRef, session: FetchSession): void {
    const peer = provider.peer.toString()
    const path = this.sessionPaths.get(session) ?? connectionPath(this.options.node, provider.peer)
    const stats = this.stats.get(peer) ?? { peer, bytes: 0, path, relayedBytes: 0 }
    stats.path = path
    this.stats.set(peer, stats)
    const worker: Worker = { peer, provider, session, path, stats, chunks: new Set() }
    this.workers.set(peer, worker)
    this.fill(worker)
  }

  /** Keeps up to `depth` chunk requests in flight on this worker. */
  private fill (worker: Worker): void {
    while (worker.chunks.size < this.depth && this.queue.length > 0 && this.workers.get(worker.peer) === worker) {
      const index = this.queue.shift()!
      if (this.verified[index] === 1) continue
      worker.chunks.add(index)
      this.requestChunk(worker, index)
    }
  }

  private requestChunk (worker: Worker, index: number): void {
    const { manifest } = this
    const length = chunkLength(manifest, index)
    const position = index * manifest.chunkSize
    const hash = createHash('sha256')
    let written = 0
    const { session, path } = worker
    session.request({ kind: FetchRequest.Kind.CHUNK, id: this.options.id, index, name: '' }, {
      length,
      exact: true,
      data: piece => {
        hash.update(piece)
        this.part.write(piece, position + written)
        written += piece.length
      },
      end: () => {
        worker.chunks.delete(index)
        if (!Buffer.from(hash.digest()).equals(chunkHash(manifest, index))) {
          this.queue.unshift(index)
          this.removeWorker(worker, `chunk ${index} failed verification`)
          return
        }
        this.verified[index] = 1
        this.verifiedCount++
        this.verifiedBytes += length
        worker.stats.bytes += length
        if (path === 'relayed') worker.stats.relayedBytes = (worker.stats.relayedBytes ?? 0) + length
        worker.stats.path = path
        this.redials.delete(worker.peer)
        if (this.verifiedCount === this.verified.length) {
          this.finish.resolve()
          return
        }
        if (session !== worker.session) this.retireSession(session, worker)
        else this.moveToDirect(worker)
        this.fill(worker)
      },
      fail: err => {
        if (worker.chunks.delete(index)) this.queue.unshift(index)
        if (session !== worker.session) {
          // the worker moved to a direct connection: only this old session's chunk is lost
          this.retireSession(session, worker)
          for (const w of this.workers.values()) this.fill(w)
          return
        }
        this.removeWorker(worker, toFileShareError(err, 'NETWORK').message, !(err instanceof FetchError))
      }
    })
  }

  private removeWorker (worker: Worker, reason: string, connectionLost = false): void {
    if (this.workers.get(worker.peer) !== worker) return
    this.workers.delete(worker.peer)
    for (const index of worker.chunks) this.queue.unshift(index)
    worker.chunks.clear()
    worker.session.abort(new FileShareError('ABORTED', reason))
    if (!(connectionLost && this.redial(worker, reason))) this.drop(worker.peer, reason)
    // the returned chunks go to the providers that are left
    for (const w of this.workers.values()) this.fill(w)
    this.checkStalled()
  }

  /**
   * A provider whose connection dropped (a relay's data or time limit, a restart) is
   * dialled again, a bounded number of times: its verified chunks stay verified, its
   * unfinished ones went back to the queue.
   */
  private redial (worker: Worker, reason: string): boolean {
    const done = this.redials.get(worker.peer) ?? 0
    if (done >= PROVIDER_REDIALS || this.verified == null || this.verifiedCount === this.verified.length) return false
    this.redials.set(worker.peer, done + 1)
    log('connection to %s lost (%s), dialling again (%d/%d)', worker.peer, reason, done + 1, PROVIDER_REDIALS)
    void this.connect(worker.provider)
    return true
  }

  /**
   * When a worker on a relayed connection finds a direct one to its provider (opened by
   * either side, see reachability.ts), new requests go to a session on the direct
   * connection; the relayed session finishes what it has in flight and is closed.
   */
  private moveToDirect (worker: Worker): void {
    if (worker.path !== 'relayed' || worker.moving === true) return
    if (connectionPath(this.options.node, worker.provider.peer) !== 'direct') return
    worker.moving = true
    this.openSession(worker.provider).then(session => {
      worker.moving = false
      if (this.workers.get(worker.peer) !== worker || this.verifiedCount === this.verified.length) {
        void session.close()
        return
      }
      const old = worker.session
      worker.session = session
      worker.path = this.sessionPaths.get(session) ?? 'direct'
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
    void session.close().then(() => { closeIdleRelayed(this.options.node, worker.provider.peer) })
  }

  private drop (peer: string, reason: string): void {
    log('dropping provider %s: %s', peer, reason)
    this.dropped.set(peer, reason)
    this.options.onEvent?.({ event: 'provider-dropped', id: this.idText, peer, reason })
  }

  /** Fails the download when no provider is left to fetch the missing chunks. */
  private checkStalled (): void {
    if (this.workers.size > 0 || this.connecting > 0 || this.verified == null) return
    if (this.verifiedCount === this.verified.length) return
    const reasons = [...this.dropped.entries()].map(([p, r]) => `${p.slice(-8)}: ${r}`).join('; ')
    const lied = [...this.dropped.values()].some(r => r.includes('verification'))
    this.finish.reject(new FileShareError(lied ? 'VERIFICATION_FAILED' : 'NO_PROVIDER',
      `no provider left for ${this.idText} with ${this.verified.length - this.verifiedCount} chunks missing (${reasons})`))
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
