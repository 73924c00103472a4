/**
 * The download engine: fetch one content id from every provider at once.
 *
 * 1. The manifest comes from the first provider whose manifest hashes to the id.
 * 2. Chunks are handed out from one queue to a worker per provider; each worker keeps up
 *    to `requestsInFlight` chunk requests outstanding on its fetch stream.
 * 3. A chunk's bytes are gathered into one buffer as they arrive; when its last byte is in,
 *    the ChunkWriter thread hashes it and, only when it matches the manifest, writes it at
 *    its position in the part file: verified (counted, never fetched again) or not (nothing
 *    written, the chunk goes back to the queue and the provider is dropped for this
 *    download: it lied, or its file changed). A worker's requests plus its chunks being
 *    written stay within `requestsInFlight`, which bounds memory.
 * 4. A provider that fails (closes, stalls, refuses) loses only its in-flight chunks,
 *    which go back to the queue for the others.
 * 5. When every chunk is verified the part file is linked to its final name.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import {
  chunkCount, chunkLength, chunkHash, formatContentId, manifestMatches, type Manifest
} from '../../content/content-id.js'
import { FetchRequest } from '../../protocol/pb/fetch.js'
import { PROTOCOL_FETCH, DEFAULT_REQUESTS_IN_FLIGHT, PROGRESS_INTERVAL_MS, REQUEST_TIMEOUT_MS } from '../../protocol/limits.js'
import { safeFileName } from '../../protocol/paths.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import { connectionPath, type FileShareNode } from '../../node/create-node.js'
import { FetchSession } from './fetch-session.js'
import { PartFile } from './part-file.js'
import { ChunkWriter } from './chunk-writer.js'

const log = logger('fileshare:peer:download')

export interface ProviderRef {
  peer: PeerId
  /** addresses to dial (may be empty when the node already knows the peer) */
  addrs: Multiaddr[]
}

export interface ProviderStats {
  peer: string
  bytes: number
  /** 'direct' or 'relayed', as the connection to the provider is */
  path: 'direct' | 'relayed'
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
  session: FetchSession
  stats: ProviderStats
  /** chunks this worker has requested and not yet finished */
  chunks: Set<number>
  /** verified chunks of this worker still being written (they count against the depth) */
  writing: number
}

export async function download (options: DownloadOptions): Promise<DownloadResult> {
  return await new Download(options).run()
}

class Download {
  private readonly idText: string
  private manifest!: Manifest
  private part!: PartFile
  private writer!: ChunkWriter
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
  /** verified chunks being written, all workers */
  private writing = 0

  constructor (private readonly options: DownloadOptions) {
    this.idText = formatContentId(options.id)
    this.depth = options.requestsInFlight ?? DEFAULT_REQUESTS_IN_FLIGHT
  }

  async run (): Promise<DownloadResult> {
    const started = Date.now()
    const self = this.options.node.peerId.toString()
    const providers = this.options.providers.filter(p => p.peer.toString() !== self)
    if (providers.length === 0) throw new FileShareError('NO_PROVIDER', `no provider for ${this.idText}`)

    // the writer thread boots while the manifest is fetched
    this.writer = new ChunkWriter()
    let first: { provider: ProviderRef, session: FetchSession }
    try {
      first = await this.fetchManifest(providers)
      const name = this.options.name ?? (this.providerName !== '' ? this.providerName : this.idText)
      this.part = new PartFile(this.options.outDir, safeFileName(name), this.idText, this.manifest.size)
    } catch (err) {
      await this.writer.close()
      throw err
    }
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
      await this.writer.close()
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
      // the writer thread must be gone before the descriptor it writes through is closed
      await this.writer.close()
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
    const { node } = this.options
    if (provider.addrs.length > 0) await node.peerStore.merge(provider.peer, { multiaddrs: provider.addrs })
    const stream = await node.dialProtocol(provider.peer, PROTOCOL_FETCH, {
      runOnLimitedConnection: true,
      signal: AbortSignal.any([AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...(this.options.signal != null ? [this.options.signal] : [])])
    })
    return new FetchSession(stream)
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
    const stats = this.stats.get(peer) ?? { peer, bytes: 0, path: connectionPath(this.options.node, provider.peer) }
    stats.path = connectionPath(this.options.node, provider.peer)
    this.stats.set(peer, stats)
    const worker: Worker = { peer, session, stats, chunks: new Set(), writing: 0 }
    this.workers.set(peer, worker)
    this.fill(worker)
  }

  /** Keeps up to `depth` chunk requests in flight on this worker. */
  private fill (worker: Worker): void {
    while (worker.chunks.size + worker.writing < this.depth && this.queue.length > 0 && this.workers.get(worker.peer) === worker) {
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
    // the chunk is copied piece by piece as it arrives (while the decrypted bytes are still
    // in the CPU cache) into one buffer that then moves to the writer thread without a copy
    // (and comes back for reuse)
    let chunk: Buffer | null = null
    let filled = 0
    worker.session.request({ kind: FetchRequest.Kind.CHUNK, id: this.options.id, index, name: '' }, {
      length,
      exact: true,
      data: piece => {
        chunk ??= this.writer.acquire(length)
        chunk.set(piece, filled)
        filled += piece.length
      },
      end: () => {
        worker.chunks.delete(index)
        worker.writing++
        this.writing++
        // hashing and writing run on the writer's thread, beside the main thread that
        // decrypts the stream
        void this.verifyAndWrite(worker, index, chunk ?? Buffer.alloc(0), position)
        chunk = null
      },
      fail: err => {
        if (worker.chunks.delete(index)) this.queue.unshift(index)
        this.removeWorker(worker, toFileShareError(err, 'NETWORK').message)
      }
    })
  }

  private async verifyAndWrite (worker: Worker, index: number, chunk: Uint8Array, position: number): Promise<void> {
    const length = chunk.length
    let ok: boolean
    try {
      ok = await this.writer.verifyAndWrite(this.part.descriptor, position, chunk, chunkHash(this.manifest, index))
    } catch (err: any) {
      worker.writing--
      this.writing--
      this.finish.reject(toFileShareError(err, 'IO'))
      return
    }
    worker.writing--
    this.writing--
    if (!ok) {
      this.queue.unshift(index)
      this.removeWorker(worker, `chunk ${index} failed verification`)
      this.checkStalled()
      return
    }
    this.verified[index] = 1
    this.verifiedCount++
    this.verifiedBytes += length
    worker.stats.bytes += length
    if (this.verifiedCount === this.verified.length) {
      this.finish.resolve()
      return
    }
    this.fill(worker)
  }

  private removeWorker (worker: Worker, reason: string): void {
    if (this.workers.get(worker.peer) !== worker) return
    this.workers.delete(worker.peer)
    for (const index of worker.chunks) this.queue.unshift(index)
    worker.chunks.clear()
    worker.session.abort(new FileShareError('ABORTED', reason))
    this.drop(worker.peer, reason)
    // the returned chunks go to the providers that are left
    for (const w of this.workers.values()) this.fill(w)
    this.checkStalled()
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
    // verified chunks still being written complete the file without any provider
    if (this.verifiedCount + this.writing === this.verified.length) return
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
