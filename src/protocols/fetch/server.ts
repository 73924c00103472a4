/**
 * /fileshare/fetch/1.0.0, the provider side (the protocol is described in index.ts).
 * The provider serves only ids in its catalog. A stream that sends no request for the
 * idle timeout is closed, and so is one whose reader takes no data for that long (the
 * wait for 'drain' times out). A request with a payload (manifest, chunk) needs an upload
 * slot (upload-slots.ts: in total, per PeerId, per IP); without one it gets BUSY and the
 * stream ends. A stream gives its slot back once its answers have left (write buffer
 * empty) and no request came for UPLOAD_SLOT_LINGER_MS. Fair upload (choker.ts): with
 * every slot taken, a peer that uploads to us (credit reported through `earn`) takes the
 * slot of the holder that gives least, and one optimistic slot rotates to a newcomer; a
 * choked stream answers its next request BUSY and ends.
 *
 * Only the bytes that were hashed are served: a file is opened without following a
 * symlink (O_NOFOLLOW) and its (device, inode, size, mtime) must match what was recorded
 * when it was hashed, and size and mtime are checked again after every read. A file that
 * does not match is reported (`onChanged`: the peer withdraws it and hashes it again) and
 * the request gets CHANGED, which downloaders treat as a refusal, never as a lie; another
 * file of the same content, if any, is served instead.
 */
import { open, type FileHandle } from 'node:fs/promises'
import { readSync, fstatSync, constants as fsConstants } from 'node:fs'
import type { Connection, Logger, Stream, Startable } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { FetchRequest, FetchResponse, Manifest as WireManifest, NameMatches, FileList } from './pb/fetch.js'
import {
  PROTOCOL_FETCH, STREAM_IDLE_TIMEOUT_MS, DEFAULT_MAX_UPLOADS, DEFAULT_MAX_UPLOADS_PER_PEER, DEFAULT_MAX_UPLOADS_PER_IP,
  UPLOAD_SLOT_LINGER_MS, MAX_NAME_MATCHES, MAX_LIST_PAGE, MAX_HAVE_SUBSCRIPTIONS, MAX_HAVES_PER_FRAME
} from './constants.js'
import { ipKey, type UploadSlots, type UploadSlot, type SlotRefusal } from './upload-slots.js'
import { Choker, UploadCredit, OPTIMISTIC_SLOT_MS, CREDIT_HALF_LIFE_MS } from './choker.js'
import { MAX_CONTROL_FRAME, MAX_INBOUND_STREAMS, MAX_PATH_LENGTH } from '../constants.js'
import { encodeFrame } from '../frames.js'
import { baseName } from '../paths.js'
import { sendWithBackpressure, waitForDrain } from '../stream-io.js'
import type { ServerComponents } from '../components.js'
import { chunkCount, chunkLength, formatContentId, ID_BYTES } from '../../content/content-id.js'
import { metrics } from '../../metrics/metrics.js'
import type { Manifest } from '../../content/content-id.js'
import { identityOf, identityChange, type FileIdentity } from '../../content/file-identity.js'

const { Status } = FetchResponse

/** What was hashed at one path: the path to open and the file's identity then. */
export interface ServedSource {
  /** the path opened, with O_NOFOLLOW (a symlink inside the share is resolved when hashed) */
  open: string
  /** device, inode, size and mtime of the file that was hashed */
  identity: FileIdentity
}

/** One content id a provider serves. */
export interface ServedContent {
  manifest: Manifest
  /** absolute path on disk → relative path in the share */
  files: Map<string, string>
  /** absolute path on disk → what was hashed there (the first that still matches is read) */
  sources: Map<string, ServedSource>
  /**
   * a partial copy (a download in progress, swarming): one byte per chunk, 1 = verified and
   * written; null or absent = complete. A partial copy's part file is written while it is
   * served: its identity is not checked (every chunk was verified before it was marked, and
   * the downloader verifies it again)
   */
  have?: Uint8Array | null
  /** told of each chunk a partial copy gains; `follower` is the PeerId asking; returns an unsubscribe function */
  onHave?: (listener: (index: number) => void, follower: string) => () => void
  /** chunk bytes served from this content since it was added */
  served?: number
}

/** What the provider serves (peer/catalog.ts): only ids in it, never a path. */
export interface FetchCatalog {
  get: (id: Uint8Array) => ServedContent | undefined
  /** files whose name or relative path is exactly `name` */
  findByName: (name: string, limit: number) => Array<{ id: Uint8Array, path: string, size: number }>
  /**
   * at most `limit` shared files in path order, after the path `after` when given (a cursor),
   * else from the `offset`-th on, and how many there are (LIST; none when absent)
   */
  list?: (offset: number, limit: number, after?: string) => { files: Array<{ id: Uint8Array, path: string, size: number }>, total: number }
}

export interface FetchServerInit {
  catalog: FetchCatalog
  /**
   * upload slots in total (streams sending data at once); a request beyond them gets BUSY
   *
   * @default DEFAULT_MAX_UPLOADS (32)
   */
  maxUploads?: number
  /**
   * upload slots one PeerId may hold
   *
   * @default DEFAULT_MAX_UPLOADS_PER_PEER (2)
   */
  maxUploadsPerPeer?: number
  /**
   * upload slots one remote IP (IPv6: one /64) may hold; relayed connections count per PeerId only
   *
   * @default DEFAULT_MAX_UPLOADS_PER_IP (8)
   */
  maxUploadsPerIp?: number
  /**
   * a stream with no request for this long is closed, and so is one whose reader takes
   * no data for this long
   *
   * @default STREAM_IDLE_TIMEOUT_MS (30 s)
   */
  idleTimeoutMs?: number
  /**
   * how long a stream keeps its slot with its answers sent and no new request
   *
   * @default UPLOAD_SLOT_LINGER_MS (500 ms)
   */
  slotLingerMs?: number
  /**
   * how long the optimistic upload slot stays with one peer before a requester without
   * credit may take it (fair upload, choker.ts)
   *
   * @default OPTIMISTIC_SLOT_MS (30 s)
   */
  optimisticSlotMs?: number
  /**
   * upload credit (chunk bytes verified from a peer, see `earn`) halves in this time
   *
   * @default CREDIT_HALF_LIFE_MS (60 s)
   */
  creditHalfLifeMs?: number
  /**
   * total chunk bytes per second sent (all streams together); 0 = unlimited
   *
   * @default 0
   */
  maxUploadRate?: number
  /**
   * the file at `absPath` (a key of `files`) no longer holds the bytes hashed for `id`
   * (replaced, a symlink, edited, gone): withdraw it and hash it again
   */
  onChanged?: (id: Uint8Array, absPath: string, reason: string) => void
  /**
   * register the protocol handler when the node starts; a peer that only downloads
   * passes false and calls serve() once it has something to share
   *
   * @default true
   */
  serving?: boolean
}

export class FetchServer implements Startable {
  readonly protocol = PROTOCOL_FETCH
  private readonly log: Logger
  /** who is sending data now (with tit-for-tat when they are all taken) */
  readonly slots: UploadSlots
  /** chunk bytes our downloads verified from each peer lately */
  private readonly credit: UploadCredit
  private readonly idleTimeoutMs: number
  private readonly slotLingerMs: number
  private readonly maxUploadRate: number
  private nextSendAt = 0
  private started = false
  private handling = false
  /** bytes of chunk payload sent since start (for tests and stats) */
  bytesServed = 0

  constructor (private readonly components: ServerComponents, private readonly init: FetchServerInit) {
    this.log = components.logger.forComponent('fileshare:peer:fetch-server')
    this.credit = new UploadCredit(init.creditHalfLifeMs ?? CREDIT_HALF_LIFE_MS)
    this.slots = new Choker({
      total: init.maxUploads ?? DEFAULT_MAX_UPLOADS,
      perPeer: init.maxUploadsPerPeer ?? DEFAULT_MAX_UPLOADS_PER_PEER,
      perIp: init.maxUploadsPerIp ?? DEFAULT_MAX_UPLOADS_PER_IP
    }, (peer, now) => this.credit.of(peer, now), init.optimisticSlotMs ?? OPTIMISTIC_SLOT_MS)
    this.idleTimeoutMs = init.idleTimeoutMs ?? STREAM_IDLE_TIMEOUT_MS
    this.slotLingerMs = init.slotLingerMs ?? UPLOAD_SLOT_LINGER_MS
    this.maxUploadRate = init.maxUploadRate ?? 0
  }

  readonly [Symbol.toStringTag] = 'fileshare/fetch-server'

  async start (): Promise<void> {
    this.started = true
    if (this.init.serving !== false) await this.serve()
  }

  async stop (): Promise<void> {
    this.started = false
    if (!this.handling) return
    this.handling = false
    await this.components.registrar.unhandle(PROTOCOL_FETCH)
  }

  async serve (): Promise<void> {
    if (this.handling || !this.started) return
    this.handling = true
    await this.components.registrar.handle(PROTOCOL_FETCH, async (stream: Stream, connection: Connection) => {
      await this.serveStream(stream, connection)
    }, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  }

  get serving (): boolean {
    return this.handling
  }

  /** Our download verified `bytes` of chunks from `peer` (its upload credit here). */
  earn (peer: string, bytes: number): void {
    this.credit.earn(peer, bytes)
  }

  /** `peer`'s upload credit now (decayed chunk bytes verified from it) */
  creditOf (peer: string): number {
    return this.credit.of(peer)
  }

  /** upload slots held right now */
  get activeUploads (): number {
    return this.slots.active
  }

  private async serveStream (stream: Stream, connection: Connection): Promise<void> {
    const slot = new StreamSlot(stream, this.slots, connection.remotePeer.toString(), ipKey(connection), this.slotLingerMs)
    const haves = new HaveFeed(stream, connection.remotePeer.toString())
    const lp = lpStream(stream, { maxDataLength: MAX_CONTROL_FRAME })
    const files = new FileCache((id, abs, reason) => {
      this.log('not serving %s any more: %s', abs, reason)
      this.init.onChanged?.(id, abs, reason)
    })
    // one idle controller per stream and a short-lived timer per read (AbortSignal.timeout
    // per request would keep a timer alive for 30 s each: thousands per large file)
    const idle = new AbortController()
    try {
      while (true) {
        let request: FetchRequest
        const timer = setTimeout(() => { idle.abort(new DOMException(`no request for ${this.idleTimeoutMs} ms`, 'TimeoutError')) }, this.idleTimeoutMs)
        slot.waiting()
        try {
          const frame = await lp.read({ signal: idle.signal })
          request = FetchRequest.decode(frame)
        } catch (err: any) {
          if (stream.remoteWriteStatus !== 'writable' || err?.name === 'UnexpectedEOFError') break // downloader done
          throw err
        } finally {
          clearTimeout(timer)
          slot.working()
        }
        if (request.kind !== FetchRequest.Kind.RESOLVE) {
          const refused = slot.take()
          if (refused != null) {
            this.reply(stream, Status.BUSY, request.index, BUSY_MESSAGES[refused])
            break
          }
        }
        await this.answer(stream, request, files, haves)
      }
      await stream.close({ signal: AbortSignal.timeout(this.idleTimeoutMs) })
    } catch (err: any) {
      this.log('fetch stream from %p ended: %s', connection.remotePeer, err?.message ?? err)
      stream.abort(err)
    } finally {
      slot.release()
      haves.close()
      await files.close()
    }
  }

  private async answer (stream: Stream, request: FetchRequest, files: FileCache, haves: HaveFeed): Promise<void> {
    const K = FetchRequest.Kind
    if (request.kind === K.RESOLVE) {
      if (request.name.length === 0 || request.name.length > MAX_PATH_LENGTH) {
        this.reply(stream, Status.BAD_REQUEST, 0, 'bad name')
        return
      }
      const matches = this.init.catalog.findByName(request.name, MAX_NAME_MATCHES)
      await this.replyWithPayload(stream, 0, NameMatches.encode({ matches }))
      return
    }
    if (request.kind === K.LIST) {
      const page = this.init.catalog.list?.(request.index, MAX_LIST_PAGE, request.name) ?? { files: [], total: 0 }
      await this.replyWithPayload(stream, 0, FileList.encode({ files: page.files.slice(0, MAX_LIST_PAGE), total: page.total }))
      return
    }
    const entry = request.id.length === ID_BYTES ? this.init.catalog.get(request.id) : undefined
    if (entry == null) {
      this.reply(stream, Status.NOT_FOUND, request.index, 'not shared here')
      return
    }
    if (request.kind === K.MANIFEST) {
      // a file that no longer matches is found out before anyone asks for its chunks
      if (!await this.available(stream, request, entry, files)) return
      const name = baseName(entry.files.values().next().value ?? '')
      await this.replyWithPayload(stream, 0, WireManifest.encode({ ...entry.manifest, name }))
      return
    }
    const total = chunkCount(entry.manifest.size, entry.manifest.chunkSize)
    if (request.kind === K.HAVE) {
      const have = entry.have
      if (have == null) {
        // a complete copy: no bitfield (length 0 = every chunk)
        this.reply(stream, Status.OK, 0, '')
        return
      }
      if (!haves.follow(entry)) {
        this.reply(stream, Status.BAD_REQUEST, 0, `at most ${MAX_HAVE_SUBSCRIPTIONS} ids per stream`)
        return
      }
      // what was announced before is part of this bitfield
      haves.flush()
      await this.replyWithPayload(stream, 0, packBitfield(have, total))
      return
    }
    if (request.kind !== K.CHUNK || request.index >= total) {
      this.reply(stream, Status.BAD_REQUEST, request.index, 'bad request')
      return
    }
    if (entry.have != null && entry.have[request.index] === 0) {
      this.reply(stream, Status.NOT_FOUND, request.index, 'chunk not held (yet)')
      return
    }
    const length = chunkLength(entry.manifest, request.index)
    await this.pace(length)
    // a fresh buffer per chunk: send() keeps a reference until it is written
    const data = Buffer.allocUnsafe(length)
    try {
      await files.read(entry, request.id, data, request.index * entry.manifest.chunkSize)
    } catch (err: any) {
      if (err instanceof ContentChangedError) this.reply(stream, Status.CHANGED, request.index, err.message)
      else this.reply(stream, Status.ERROR, request.index, `cannot read: ${err?.code ?? err?.message}`)
      return
    }
    // wait for room only now: the file read above overlapped with sending the previous
    // chunk, and at most about two chunks sit in the write buffer. A reader that takes
    // nothing for the idle timeout loses the stream (and its slot).
    await waitForDrain(stream, undefined, this.idleTimeoutMs)
    stream.send(encodeFrame(FetchResponse.encode({ status: Status.OK, message: '', index: request.index, length })))
    stream.send(data)
    this.bytesServed += length
    metrics().served(formatContentId(request.id), length)
    if (entry.served != null) entry.served += length
  }

  /** Whether a file of `entry` still holds the hashed bytes; answers CHANGED or ERROR when not. */
  private async available (stream: Stream, request: FetchRequest, entry: ServedContent, files: FileCache): Promise<boolean> {
    try {
      await files.check(entry, request.id)
      return true
    } catch (err: any) {
      if (err instanceof ContentChangedError) this.reply(stream, Status.CHANGED, request.index, err.message)
      else this.reply(stream, Status.ERROR, request.index, `cannot read: ${err?.code ?? err?.message}`)
      return false
    }
  }

  /** Waits until `bytes` more fit under maxUploadRate (a shared schedule: streams take turns). */
  private async pace (bytes: number): Promise<void> {
    if (this.maxUploadRate <= 0) return
    const now = Date.now()
    const start = Math.max(now, this.nextSendAt)
    this.nextSendAt = start + bytes / this.maxUploadRate * 1000
    if (start > now) await new Promise(resolve => setTimeout(resolve, start - now).unref())
  }

  private reply (stream: Stream, status: FetchResponse.Status, index: number, message: string): void {
    stream.send(encodeFrame(FetchResponse.encode({ status, message, index, length: 0 })))
  }

  private async replyWithPayload (stream: Stream, index: number, payload: Uint8Array): Promise<void> {
    stream.send(encodeFrame(FetchResponse.encode({ status: Status.OK, message: '', index, length: payload.length })))
    await sendWithBackpressure(stream, payload, undefined, this.idleTimeoutMs)
  }
}

/** Bit i of the bitfield is bit 7 - (i % 8) of byte i / 8 (as BitTorrent's); spare bits are 0. */
export function packBitfield (have: Uint8Array, total: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(total / 8))
  for (let i = 0; i < total; i++) if (have[i] !== 0) bits[i >> 3] |= 0x80 >> (i & 7)
  return bits
}

/**
 * The HAVE frames of one fetch stream: chunks the partial copies it follows gained, sent
 * in batches between answers (each answer's header and payload are sent synchronously, so
 * a HAVE frame never lands inside a payload).
 */
class HaveFeed {
  private readonly followed = new Map<ServedContent, () => void>()
  private pending: number[] = []
  private scheduled = false
  private closed = false

  constructor (private readonly stream: Stream, private readonly remote: string) {}

  /** Follows `entry` (once): false when the stream follows too many already. */
  follow (entry: ServedContent): boolean {
    if (this.followed.has(entry)) return true
    if (this.followed.size >= MAX_HAVE_SUBSCRIPTIONS) return false
    this.followed.set(entry, entry.onHave?.(index => { this.gained(index) }, this.remote) ?? (() => {}))
    return true
  }

  private gained (index: number): void {
    if (this.closed) return
    this.pending.push(index)
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => { this.flush() })
  }

  /** Sends what is pending now. */
  flush (): void {
    this.scheduled = false
    if (this.closed || this.pending.length === 0) return
    if (this.stream.status !== 'open' || this.stream.writeStatus !== 'writable') return
    const pending = this.pending
    this.pending = []
    for (let at = 0; at < pending.length; at += MAX_HAVES_PER_FRAME) {
      const have = pending.slice(at, at + MAX_HAVES_PER_FRAME)
      this.stream.send(encodeFrame(FetchResponse.encode({ status: Status.HAVE, message: '', index: 0, length: 0, have })))
    }
  }

  close (): void {
    this.closed = true
    for (const unsubscribe of this.followed.values()) unsubscribe()
    this.followed.clear()
  }
}

const BUSY_MESSAGES: Record<SlotRefusal, string> = {
  total: 'all upload slots are busy, try another provider',
  peer: 'this peer holds its upload slots already',
  ip: 'this IP holds its upload slots already',
  choked: 'choked: the upload slot went to another peer, try again later'
}

/**
 * The upload slot of one fetch stream: taken for a request with a payload, kept while
 * requests follow each other, given back once the answers have left (write buffer empty)
 * and no request came for `lingerMs`.
 */
class StreamSlot {
  private slot: UploadSlot | null = null
  private timer: NodeJS.Timeout | undefined
  private flushing = false

  constructor (private readonly stream: Stream, private readonly slots: UploadSlots, private readonly peer: string, private readonly ip: string | null, private readonly lingerMs: number) {}

  /** Holds a slot (the one it has, or a new one); returns why not when there is none. */
  take (): SlotRefusal | null {
    if (this.slot?.choked === true) return 'choked'
    if (this.slot?.held === true) return null
    const got = this.slots.acquire(this.peer, this.ip)
    if (typeof got === 'string') return got
    this.slot = got
    return null
  }

  /** The stream waits for its next request: let the slot go once the answers left and `lingerMs` passed. */
  waiting (): void {
    if (this.slot == null) return
    if (this.stream.writeBufferLength > 0) {
      this.flushing = true
      this.stream.addEventListener('idle', this.flushed)
    } else {
      this.linger()
    }
  }

  /** A request arrived: the slot stays. */
  working (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.stopFlushWait()
  }

  release (): void {
    this.working()
    this.slot?.release()
    this.slot = null
  }

  private readonly flushed = (): void => {
    this.stopFlushWait()
    this.linger()
  }

  private linger (): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { this.release() }, this.lingerMs)
  }

  private stopFlushWait (): void {
    if (!this.flushing) return
    this.flushing = false
    this.stream.removeEventListener('idle', this.flushed)
  }
}

/** No file of a content id holds the bytes it was hashed from any more. */
class ContentChangedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ContentChangedError'
  }
}

/** open() errors that mean the path no longer leads to the file hashed: a symlink, gone, no folder. */
const GONE = new Set(['ELOOP', 'ENOENT', 'ENOTDIR', 'EMLINK'])
const OPEN_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK

interface OpenSource {
  abs: string
  source: ServedSource
  fh: FileHandle
}

/**
 * Open files of one fetch stream, one per content id, closed with the stream. A file is
 * opened without following a symlink and used only while its identity matches what was
 * hashed (checked at open and after every read); one that does not is reported to
 * `changed` and the next file of the content is tried.
 */
class FileCache {
  private readonly handles = new Map<ServedContent, OpenSource>()
  /** sources found changed (a re-hashed file comes back as a new source object) */
  private readonly bad = new WeakSet<ServedSource>()

  constructor (private readonly changed: (id: Uint8Array, abs: string, reason: string) => void) {}

  /** Throws ContentChangedError when no file of `entry` holds the hashed bytes. */
  async check (entry: ServedContent, id: Uint8Array): Promise<void> {
    await this.handleFor(entry, id)
  }

  async read (entry: ServedContent, id: Uint8Array, into: Buffer, position: number): Promise<void> {
    while (true) {
      const h = await this.handleFor(entry, id)
      // a synchronous read (1 MiB, normally from the page cache): measured ≈ 5 % faster per
      // transfer than a thread-pool round trip per chunk, as in the bare-stream baseline
      let done = 0
      while (done < into.length) {
        const bytesRead = readSync(h.fh.fd, into, done, into.length - done, position + done)
        if (bytesRead === 0) break
        done += bytesRead
      }
      // after the read: a file edited meanwhile (size, mtime) may have given changed bytes
      const expected = (entry.sources.get(h.abs) ?? h.source).identity
      const why = done < into.length ? 'shorter than when hashed' : (entry.have != null ? '' : identityChange(expected, identityOf(fstatSync(h.fh.fd))))
      if (why === '') return
      this.handles.delete(entry)
      await h.fh.close().catch(() => {})
      this.fail(id, h.abs, h.source, `changed while being served (${why})`)
    }
  }

  /** An open file of `entry` that matches what was hashed, or ContentChangedError. */
  private async handleFor (entry: ServedContent, id: Uint8Array): Promise<OpenSource> {
    const cached = this.handles.get(entry)
    if (cached != null) return cached
    for (const [abs, source] of [...entry.sources]) {
      if (this.bad.has(source)) continue
      let fh: FileHandle
      try {
        fh = await open(source.open, OPEN_FLAGS)
      } catch (err: any) {
        if (!GONE.has(err?.code)) throw err
        this.fail(id, abs, source, err.code === 'ELOOP' ? 'replaced by a symbolic link' : `gone (${String(err.code)})`)
        continue
      }
      let why: string
      try {
        const st = await fh.stat()
        // a partial copy's part file changes while it is served (see ServedContent.have)
        why = !st.isFile() ? 'not a regular file any more' : (entry.have != null ? '' : identityChange(source.identity, identityOf(st)))
      } catch (err) {
        await fh.close().catch(() => {})
        throw err
      }
      if (why !== '') {
        await fh.close().catch(() => {})
        this.fail(id, abs, source, why)
        continue
      }
      const h: OpenSource = { abs, source, fh }
      this.handles.set(entry, h)
      return h
    }
    throw new ContentChangedError('the file changed on disk since it was hashed: withdrawn, ask another provider')
  }

  private fail (id: Uint8Array, abs: string, source: ServedSource, reason: string): void {
    this.bad.add(source)
    this.changed(id, abs, reason)
  }

  async close (): Promise<void> {
    await Promise.all([...this.handles.values()].map(async h => await h.fh.close().catch(() => {})))
    this.handles.clear()
  }
}
