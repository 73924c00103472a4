/**
 * /fileshare/fetch/1.0.0, the downloader side: one stream to one provider, requests
 * pipelined, responses parsed straight off the stream's 'message' events (see index.ts
 * for the framing). Payload bytes are handed to the request's sink as
 * sub-arrays of what arrived: no concatenation, no copy (the download's chunk sink copies
 * them once, into the buffer that goes to its writer thread). Data in flight is bounded by
 * the number of outstanding requests.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Stream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { FetchRequest, FetchResponse, Manifest as WireManifest, NameMatches, FileList, type NameMatch } from './pb/fetch.js'
import { CHUNK_STALL_TIMEOUT_MS, MAX_NAME_MATCHES, MAX_LIST_PAGE, BUSY_RETRY_MS, BUSY_RETRY_MAX_MS, MAX_HAVES_PER_FRAME } from './constants.js'
import { MAX_CONTROL_FRAME } from '../constants.js'
import { encodeFrame, readFrameLength } from '../frames.js'
import { FileShareError } from '../../errors.js'
import type { Manifest } from '../../content/content-id.js'
import { MAX_MANIFEST_BYTES } from '../../content/constants.js'
import { backoffDelay } from '../../util/backoff.js'

/** Receives one response's payload. */
export interface PayloadSink {
  /** the payload length the response must have, or a maximum when `exact` is false */
  readonly length: number
  readonly exact: boolean
  data: (piece: Uint8Array) => void
  end: () => void
  fail: (err: Error) => void
}

interface Pending {
  request: FetchRequest
  sink: PayloadSink
}

/**
 * A provider's non-OK answer. NOT_FOUND and CHANGED (its file changed on disk since it was
 * hashed: withdrawn) are refusals with code NOT_FOUND: the downloader asks another
 * provider and never counts them as a lie.
 */
export class FetchError extends FileShareError {
  constructor (readonly status: FetchResponse.Status, message: string) {
    super(status === FetchResponse.Status.NOT_FOUND || status === FetchResponse.Status.CHANGED ? 'NOT_FOUND' : 'PROTOCOL', message)
    this.name = 'FetchError'
  }
}

/** Whether `err` is a provider's CHANGED answer (its copy changed on disk: a clean refusal, not a lie). */
export function isChanged (err: unknown): boolean {
  return err instanceof FetchError && err.status === FetchResponse.Status.CHANGED
}

/** Whether `err` is a provider's BUSY answer (ask again later, or ask another provider). */
export function isBusy (err: unknown): boolean {
  return err instanceof FetchError && err.status === FetchResponse.Status.BUSY
}

/** How long to wait before asking a BUSY provider again for the `attempt`-th time (1, 2, 4, 8, 8 … s). */
export function busyDelay (attempt: number): number {
  return backoffDelay(attempt, { minMs: BUSY_RETRY_MS, maxMs: BUSY_RETRY_MAX_MS })
}

/** Waits busyDelay(attempt); an abort ends the wait with ABORTED. */
export async function waitBusy (attempt: number, signal?: AbortSignal): Promise<void> {
  await sleep(busyDelay(attempt), undefined, { signal }).catch(() => { throw new FileShareError('ABORTED', 'download aborted') })
}

export class FetchSession {
  private readonly pending: Pending[] = []
  private readonly headerBuf = new Uint8ArrayList()
  private current: Pending | null = null
  private remaining = 0
  private closedError: Error | null = null
  private lastActivity = Date.now()
  private readonly watchdog: NodeJS.Timeout
  /** told of each chunk index a HAVE frame announces (after a `have()` request) */
  private haveListener: ((index: number) => void) | null = null
  private haveTotal = 0

  constructor (readonly stream: Stream, private readonly stallTimeoutMs = CHUNK_STALL_TIMEOUT_MS) {
    stream.addEventListener('message', (evt) => {
      this.lastActivity = Date.now()
      try {
        this.receive(evt.data)
      } catch (err: any) {
        this.fail(err instanceof FileShareError ? err : new FileShareError('PROTOCOL', err?.message ?? String(err)))
      }
    })
    stream.addEventListener('close', (evt: any) => {
      this.fail(evt?.error ?? new FileShareError('NETWORK', 'provider closed the stream'))
    })
    stream.addEventListener('remoteCloseWrite', () => {
      if (this.pending.length > 0 || this.current != null) this.fail(new FileShareError('NETWORK', 'provider ended the stream early'))
    })
    this.watchdog = setInterval(() => {
      if ((this.pending.length > 0 || this.current != null) && Date.now() - this.lastActivity > this.stallTimeoutMs) {
        this.fail(new FileShareError('NETWORK', `provider stalled for ${Math.round(this.stallTimeoutMs / 1000)} s`))
      }
    }, Math.min(1000, this.stallTimeoutMs))
    this.watchdog.unref()
  }

  get inFlight (): number {
    return this.pending.length + (this.current != null ? 1 : 0)
  }

  get closed (): boolean {
    return this.closedError != null
  }

  /** Sends a request whose response payload goes to `sink`. */
  request (request: FetchRequest, sink: PayloadSink): void {
    if (this.closedError != null) {
      sink.fail(this.closedError)
      return
    }
    if (this.inFlight === 0) this.lastActivity = Date.now()
    this.pending.push({ request, sink })
    try {
      this.stream.send(encodeFrame(FetchRequest.encode(request)))
    } catch (err: any) {
      this.fail(err)
    }
  }

  /** The provider's manifest for `id` (not yet verified) and the name it shares it under. */
  async manifest (id: Uint8Array): Promise<{ manifest: Manifest, name: string }> {
    const bytes = await this.collect({ kind: FetchRequest.Kind.MANIFEST, id, index: 0, name: '' }, MAX_MANIFEST_BYTES)
    const m = WireManifest.decode(bytes)
    return { manifest: { size: m.size, chunkSize: m.chunkSize, chunkHashes: m.chunkHashes }, name: m.name }
  }

  /**
   * Which chunks of `id` (of `total`) the provider holds: one byte per chunk, 1 = has it,
   * or null when it has every chunk. Afterwards each HAVE frame calls `onHave` with a
   * chunk it gained. Ask this only of a provider the lookup marks partial (an older
   * provider does not know HAVE and ends the stream). A bitfield of the wrong size, with
   * spare bits set, or a HAVE of a chunk past the end fails the session (PROTOCOL).
   */
  async have (id: Uint8Array, total: number, onHave: (index: number) => void): Promise<Uint8Array | null> {
    this.haveTotal = total
    this.haveListener = onHave
    const bytes = await this.collect({ kind: FetchRequest.Kind.HAVE, id, index: 0, name: '' }, Math.ceil(total / 8))
    if (bytes.length === 0) return null
    try {
      return unpackBitfield(bytes, total)
    } catch (err: any) {
      this.abort(err)
      throw err
    }
  }

  async resolve (name: string): Promise<NameMatch[]> {
    const bytes = await this.collect({ kind: FetchRequest.Kind.RESOLVE, id: new Uint8Array(0), index: 0, name }, MAX_CONTROL_FRAME * 16)
    return NameMatches.decode(bytes, { limits: { matches: MAX_NAME_MATCHES } }).matches
  }

  /**
   * One page of the provider's shared files (at most MAX_LIST_PAGE), in path order after the
   * path `after` (the last of the previous page), and how many it shares. `offset`: the
   * page's position, for a provider that pages by position only (before path cursors).
   */
  async list (offset: number, after = ''): Promise<{ files: NameMatch[], total: number }> {
    const bytes = await this.collect({ kind: FetchRequest.Kind.LIST, id: new Uint8Array(0), index: offset, name: after }, MAX_CONTROL_FRAME * 16)
    const page = FileList.decode(bytes, { limits: { files: MAX_LIST_PAGE } })
    return { files: page.files, total: page.total }
  }

  /** Ends the session: half-closes so the provider finishes, or aborts on error. */
  async close (): Promise<void> {
    clearInterval(this.watchdog)
    if (this.closedError == null) {
      this.closedError = new FileShareError('ABORTED', 'session closed')
      await this.stream.close({ signal: AbortSignal.timeout(5000) }).catch(err => { this.stream.abort(err) })
    }
  }

  abort (err: Error): void {
    this.fail(err)
    this.stream.abort(err)
  }

  private async collect (request: FetchRequest, max: number): Promise<Uint8Array> {
    return await new Promise((resolve, reject) => {
      const parts = new Uint8ArrayList()
      this.request(request, {
        length: max,
        exact: false,
        data: piece => { parts.append(piece) },
        end: () => { resolve(parts.subarray()) },
        fail: reject
      })
    })
  }

  private receive (data: Uint8Array | Uint8ArrayList): void {
    const pieces = data instanceof Uint8Array ? [data] : data
    for (let piece of pieces) {
      while (piece.length > 0) {
        if (this.current == null) {
          // a header: buffer until its length prefix and body are complete (headerBuf only
          // ever holds the start of one frame), then go on with the rest of this piece
          const buffered = this.headerBuf.byteLength
          this.headerBuf.append(piece)
          const frameBytes = this.parseHeader()
          if (frameBytes < 0) break
          this.headerBuf.consume(this.headerBuf.byteLength)
          piece = piece.subarray(frameBytes - buffered)
          continue
        }
        const n = Math.min(this.remaining, piece.length)
        const current = this.current
        if (n > 0) {
          current.sink.data(n === piece.length ? piece : piece.subarray(0, n))
          this.remaining -= n
          piece = piece.subarray(n)
        }
        if (this.remaining === 0) this.finishCurrent()
      }
    }
  }

  /** Parses the response header at the start of headerBuf: its size in bytes, or -1 when incomplete. */
  private parseHeader (): number {
    const prefix = readFrameLength(this.headerBuf, MAX_CONTROL_FRAME)
    if (prefix == null || this.headerBuf.byteLength < prefix.prefixBytes + prefix.length) return -1
    const frameBytes = prefix.prefixBytes + prefix.length
    const header = FetchResponse.decode(this.headerBuf.sublist(prefix.prefixBytes, frameBytes), { limits: { have: MAX_HAVES_PER_FRAME } })
    if (header.status === FetchResponse.Status.HAVE) {
      // not an answer: chunks the provider gained since its bitfield
      if (header.length !== 0) throw new FileShareError('PROTOCOL', 'HAVE frame with a payload')
      const listener = this.haveListener
      if (listener == null) throw new FileShareError('PROTOCOL', 'provider sent HAVE unasked')
      for (const index of header.have) {
        if (index >= this.haveTotal) throw new FileShareError('PROTOCOL', `provider announced chunk ${index} of ${this.haveTotal}`)
      }
      for (const index of header.have) listener(index)
      return frameBytes
    }
    // peeked, not shifted, until the header is known good: a violation fails it with the rest
    const next = this.pending[0]
    if (next == null) throw new FileShareError('PROTOCOL', 'provider sent a response nobody asked for')
    if (header.status !== FetchResponse.Status.OK) {
      if (header.length !== 0) throw new FileShareError('PROTOCOL', 'error response with a payload')
      this.pending.shift()
      next.sink.fail(new FetchError(header.status, `provider answered ${header.status}${header.message !== '' ? `: ${header.message}` : ''}`))
      return frameBytes
    }
    const sink = next.sink
    if (sink.exact ? header.length !== sink.length : header.length > sink.length) {
      throw new FileShareError('PROTOCOL', `provider announced ${header.length} bytes where ${sink.exact ? '' : 'at most '}${sink.length} were expected`)
    }
    if (next.request.kind === FetchRequest.Kind.CHUNK && header.index !== next.request.index) {
      throw new FileShareError('PROTOCOL', `provider answered chunk ${header.index} for chunk ${next.request.index}`)
    }
    this.pending.shift()
    this.current = next
    this.remaining = header.length
    if (this.remaining === 0) this.finishCurrent()
    return frameBytes
  }

  private finishCurrent (): void {
    const current = this.current!
    this.current = null
    current.sink.end()
  }

  private fail (err: Error): void {
    if (this.closedError != null && this.current == null && this.pending.length === 0) return
    this.closedError ??= err
    clearInterval(this.watchdog)
    const failed = [...(this.current != null ? [this.current] : []), ...this.pending.splice(0)]
    this.current = null
    for (const p of failed) p.sink.fail(err)
    if (this.stream.status === 'open') this.stream.abort(err)
  }
}


/** One byte per chunk from a packed bitfield (see the server's packBitfield); PROTOCOL when its size or spare bits are wrong. */
export function unpackBitfield (bits: Uint8Array, total: number): Uint8Array {
  if (bits.length !== Math.ceil(total / 8)) throw new FileShareError('PROTOCOL', `bitfield of ${bits.length} bytes for ${total} chunks`)
  const have = new Uint8Array(total)
  for (let i = 0; i < total; i++) have[i] = (bits[i >> 3] >> (7 - (i & 7))) & 1
  const spare = total & 7
  if (spare !== 0 && (bits[bits.length - 1] & (0xff >> spare)) !== 0) throw new FileShareError('PROTOCOL', 'bitfield with spare bits set')
  return have
}
