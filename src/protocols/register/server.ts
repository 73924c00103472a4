/**
 * /fileshare/register/1.0.0, the master's side (the protocol is described in index.ts).
 * Records are bound to the authenticated remote PeerId of the connection: a request
 * cannot name another peer.
 */
import type { Connection, Logger, Stream, Startable } from '@libp2p/interface'
import { RegisterRequest, RegisterResponse } from './pb/register.js'
import { PROTOCOL_REGISTER, MAX_REGISTER_FRAME, REGISTER_BATCH } from './constants.js'
import { REQUEST_TIMEOUT_MS, MAX_PATH_LENGTH, MAX_INBOUND_STREAMS } from '../constants.js'
import { serveExchange } from '../stream-io.js'
import { isSafeRelativePath } from '../paths.js'
import type { ServerComponents, PeerLimiter, IpLimiter } from '../components.js'
import { ID_BYTES } from '../../content/content-id.js'
import { MAX_FILE_SIZE } from '../../content/constants.js'
import { metrics } from '../../metrics/metrics.js'
import { ipOf } from '../../node/addresses.js'

const { Status } = RegisterResponse

export interface RegisteredFile {
  id: Uint8Array
  path: string
  size: number
  /** a download in progress that serves the chunks it verified */
  partial?: boolean
}

/** Where the master keeps what peers registered (master/index-store.ts). */
export interface RegisterStore {
  fileCount: (peer: string) => number
  /** replaces (reset) or extends the peer's files (registered from `ip`); returns its file count */
  addFiles: (peer: string, files: RegisteredFile[], reset: boolean, ip?: string) => number
  removePaths: (peer: string, paths: string[]) => number
  setLive: (peer: string, live: boolean) => void
  /** records of every peer (the global cap) */
  totalFiles?: () => number
  /** records of the peers that registered from `ip` (the per-IP cap) */
  ipFileCount?: (ip: string) => number
  /** bytes the index takes on disk (the size cap) */
  sizeBytes?: () => number
}

export interface RegisterServerInit {
  store: RegisterStore
  /** per-peer request budget (master/rate-limiter.ts) */
  limiter: PeerLimiter
  /** per-IP request budget, whatever the keys (fresh keys cost nothing to make) */
  ipLimiter?: IpLimiter
  /** files one peer may register */
  maxFilesPerPeer: number
  /** records the whole index may hold (default: no cap); past it registrations get STORAGE_FULL */
  maxRecords?: number
  /** records the peers registering from one IP address may hold together (default: no cap) */
  maxRecordsPerIp?: number
  /** bytes the index may take on disk: past it registrations that add records get STORAGE_FULL (default: no cap) */
  maxIndexBytes?: number
  /** whether `err` (thrown by the store) means the storage cannot take more: answered STORAGE_FULL */
  isStorageError?: (err: unknown) => boolean
  /**
   * a request must arrive and be answered within this time
   *
   * @default REQUEST_TIMEOUT_MS (15 s)
   */
  requestTimeoutMs?: number
  /** called after every accepted request of `peer` (the master's liveness tracking) */
  onRegistered?: (peer: string, connection?: Connection) => void
  /** called for each request on `connection` answered RATE_LIMITED (the master's refusal penalty) */
  onRefused?: (connection: Connection) => void
  /**
   * where the index writes of served requests run, in slices (master/index-lane.ts);
   * without one a batch is written at once
   */
  lane?: IndexWorkLane
}

/** A fair, budgeted queue for index work (master/index-lane.ts). */
export interface IndexWorkLane {
  /** whether `key` from `ip` may queue work now (refused: RATE_LIMITED, nothing stored) */
  admit: (ip: string, key: string, slices?: number) => boolean
  /** runs `steps` in order, one slice at a time */
  run: <T>(ip: string, key: string, steps: Array<() => T>) => Promise<T[]>
}

/** Records written per slice of the index lane (≈ 5–15 ms of SQLite with its word index). */
const RECORDS_PER_SLICE = 50

/** A checked batch, ready to be written. */
interface Plan {
  op: RegisterRequest.Op
  files: RegisteredFile[]
  paths: string[]
}

export class RegisterServer implements Startable {
  readonly protocol = PROTOCOL_REGISTER
  private readonly log: Logger
  private readonly store: RegisterStore
  private readonly init: RegisterServerInit
  private readonly timeoutMs: number

  constructor (private readonly components: ServerComponents, init: RegisterServerInit) {
    this.log = components.logger.forComponent('fileshare:master:register')
    this.init = init
    this.store = init.store
    this.timeoutMs = init.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
  }

  readonly [Symbol.toStringTag] = 'fileshare/register-server'

  async start (): Promise<void> {
    await this.components.registrar.handle(PROTOCOL_REGISTER, async (stream: Stream, connection: Connection) => {
      await this.serve(stream, connection)
    }, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(PROTOCOL_REGISTER)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    await serveExchange(stream, RegisterRequest, RegisterResponse, {
      maxRequestBytes: MAX_REGISTER_FRAME,
      timeoutMs: this.timeoutMs,
      decodeLimits: { files: REGISTER_BATCH, paths: REGISTER_BATCH },
      badRequest: message => ({ status: Status.BAD_REQUEST, message, files: 0 }),
      internalError: message => ({ status: Status.ERROR, message, files: 0 })
    }, async request => {
      const ip = connection.remoteAddr != null ? ipOf(connection.remoteAddr) : undefined
      const lane = this.init.lane
      const res = lane != null && ip != null ? await this.applyInLane(lane, peer, request, ip) : this.apply(peer, request, ip)
      if (res.status === Status.OK) this.init.onRegistered?.(peer, connection)
      if (res.status === Status.RATE_LIMITED) this.init.onRefused?.(connection)
      return res
    })
  }

  /** Like apply(), with the writes queued in the index lane, a few dozen records a slice. */
  private async applyInLane (lane: IndexWorkLane, peer: string, request: RegisterRequest, ip: string): Promise<RegisterResponse> {
    try {
      const records = request.op === RegisterRequest.Op.REMOVE ? request.paths.length : request.files.length
      if (!lane.admit(ip, peer, Math.max(1, Math.ceil(records / RECORDS_PER_SLICE)))) {
        metrics().refused('rate_limit')
        return { status: Status.RATE_LIMITED, message: 'too many register requests queued from this peer or IP address (the index is busy), slow down', files: 0 }
      }
      const plan = this.check(peer, request, ip)
      if (!isPlan(plan)) return plan
      const steps: Array<() => number> = []
      if (plan.op === RegisterRequest.Op.REMOVE) {
        for (let i = 0; i < plan.paths.length || i === 0; i += RECORDS_PER_SLICE) {
          const paths = plan.paths.slice(i, i + RECORDS_PER_SLICE)
          steps.push(() => this.store.removePaths(peer, paths))
        }
      } else {
        for (let i = 0; i < plan.files.length || i === 0; i += RECORDS_PER_SLICE) {
          const files = plan.files.slice(i, i + RECORDS_PER_SLICE)
          // a RESET replaces the peer's files: the first slice clears them, the others add
          const reset = plan.op === RegisterRequest.Op.RESET && i === 0
          steps.push(() => this.store.addFiles(peer, files, reset, ip))
        }
      }
      const counts = await lane.run(ip, peer, steps)
      return this.done(peer, plan, counts[counts.length - 1] ?? 0)
    } catch (err: any) {
      // pushed out of a full lane for a less busy IP's request
      if (err?.code === 'RATE_LIMITED') {
        metrics().refused('rate_limit')
        return { status: Status.RATE_LIMITED, message: 'too many register requests queued from this IP address (the index is busy), slow down', files: 0 }
      }
      return this.storageFailure(peer, err)
    }
  }

  /** Applies one batch for `peer` (the authenticated remote PeerId), registering from `ip`. */
  apply (peer: string, request: RegisterRequest, ip?: string): RegisterResponse {
    try {
      const plan = this.check(peer, request, ip)
      if (!isPlan(plan)) return plan
      const count = plan.op === RegisterRequest.Op.REMOVE
        ? this.store.removePaths(peer, plan.paths)
        : this.store.addFiles(peer, plan.files, plan.op === RegisterRequest.Op.RESET, ip)
      return this.done(peer, plan, count)
    } catch (err: any) {
      return this.storageFailure(peer, err)
    }
  }

  private storageFailure (peer: string, err: any): RegisterResponse {
    if (this.init.isStorageError?.(err) === true) {
      this.log.error('storage error registering %s: %s', peer, err?.message ?? err)
      return { status: Status.STORAGE_FULL, message: 'the master cannot store more files now (storage full); lookups still work', files: 0 }
    }
    throw err
  }

  /** After the writes: the peer is live. */
  private done (peer: string, plan: Plan, count: number): RegisterResponse {
    this.store.setLive(peer, true)
    metrics().registration(RegisterRequest.Op[plan.op] ?? String(plan.op), plan.files.length)
    this.log('%s %s: %d files, %d paths -> %d', peer, plan.op, plan.files.length, plan.paths.length, count)
    return { status: Status.OK, message: '', files: count }
  }

  /** Budgets, well-formedness and quotas of a batch (reads only): a refusal, or what to write. */
  private check (peer: string, request: RegisterRequest, ip?: string): RegisterResponse | Plan {
    try {
      this.init.limiter.consume(peer)
    } catch {
      metrics().refused('rate_limit')
      return { status: Status.RATE_LIMITED, message: 'too many register requests, slow down', files: 0 }
    }
    if (ip != null && this.init.ipLimiter != null) {
      try {
        this.init.ipLimiter.consume(ip, peer)
      } catch {
        metrics().refused('rate_limit')
        return { status: Status.RATE_LIMITED, message: 'too many register requests from this IP address, slow down', files: 0 }
      }
    }
    const files: RegisteredFile[] = []
    for (const f of request.files) {
      if (f.id.length !== ID_BYTES) return bad(`bad content id length ${f.id.length}`)
      if (!isSafeRelativePath(f.path) || f.path.length > MAX_PATH_LENGTH) return bad(`bad path ${JSON.stringify(f.path.slice(0, 80))}`)
      if (f.size < 0 || f.size > MAX_FILE_SIZE) return bad(`bad size ${f.size}`)
      files.push({ id: f.id, path: f.path, size: f.size, partial: f.partial })
    }
    for (const path of request.paths) {
      if (!isSafeRelativePath(path)) return bad(`bad path ${JSON.stringify(path.slice(0, 80))}`)
    }
    if (request.op === RegisterRequest.Op.REMOVE && files.length > 0) return bad('REMOVE carries paths, not files')
    if (request.op !== RegisterRequest.Op.REMOVE) {
      const maxFiles = this.init.maxFilesPerPeer
      const reset = request.op === RegisterRequest.Op.RESET
      const current = reset ? 0 : this.store.fileCount(peer)
      if (current + files.length > maxFiles) {
        metrics().refused('quota')
        return { status: Status.QUOTA_EXCEEDED, message: `at most ${maxFiles} files per peer`, files: current }
      }
      // the global and per-IP caps, counted before the batch (upper bounds: a batch may replace records)
      const own = reset ? this.store.fileCount(peer) : current
      const growth = current + files.length - own
      const maxRecords = this.init.maxRecords
      if (maxRecords != null && growth > 0 && this.store.totalFiles != null && this.store.totalFiles() + growth > maxRecords) {
        return { status: Status.STORAGE_FULL, message: `the index is full (${maxRecords} records); lookups still work`, files: current }
      }
      const maxBytes = this.init.maxIndexBytes
      if (maxBytes != null && growth > 0 && this.store.sizeBytes != null && this.store.sizeBytes() > maxBytes) {
        return { status: Status.STORAGE_FULL, message: `the index is full (${maxBytes} bytes on disk); lookups still work`, files: current }
      }
      const maxPerIp = this.init.maxRecordsPerIp
      if (maxPerIp != null && ip != null && growth > 0 && this.store.ipFileCount != null && this.store.ipFileCount(ip) + growth > maxPerIp) {
        metrics().refused('quota')
        return { status: Status.QUOTA_EXCEEDED, message: `at most ${maxPerIp} files from one IP address`, files: current }
      }
    }
    return { op: request.op, files, paths: request.paths }
  }
}

function isPlan (x: RegisterResponse | Plan): x is Plan {
  return 'op' in x
}

function bad (message: string): RegisterResponse {
  return { status: Status.BAD_REQUEST, message, files: 0 }
}
