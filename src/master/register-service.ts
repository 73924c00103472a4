/**
 * /fileshare/register/1.0.0 on the master. Each stream carries one RegisterRequest batch
 * (RESET, ADD or REMOVE) and gets one RegisterResponse. Records are bound to the
 * authenticated remote PeerId of the connection: a request cannot name another peer.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { RateLimiter } from '@libp2p/utils'
import { logger } from '@libp2p/logger'
import { RegisterRequest, RegisterResponse } from '../protocol/pb/register.js'
import {
  PROTOCOL_REGISTER, MAX_REGISTER_FRAME, REGISTER_BATCH, REQUEST_TIMEOUT_MS, MAX_FILES_PER_PEER,
  MAX_PATH_LENGTH, MAX_INBOUND_STREAMS, MASTER_REQUESTS_PER_SECOND, MASTER_REQUEST_BURST, MAX_FILE_SIZE
} from '../protocol/limits.js'
import { serveExchange } from '../protocol/stream-io.js'
import { isSafeRelativePath } from '../protocol/paths.js'
import type { FileShareNode } from '../node/create-node.js'
import type { IndexStore, FileRecord } from './index-store.js'
import type { Liveness } from './liveness.js'
import { ID_BYTES } from '../content/content-id.js'
import { metrics } from '../metrics/metrics.js'

const log = logger('fileshare:master:register')
const { Status } = RegisterResponse

export interface RegisterServiceOptions {
  maxFilesPerPeer?: number
  /** a request must arrive and be answered within this time (default REQUEST_TIMEOUT_MS) */
  requestTimeoutMs?: number
  /** per-peer token bucket: sustained requests per second and burst */
  requestsPerSecond?: number
  requestBurst?: number
}

/** A per-peer token bucket (RateLimiter counts whole seconds: points per duration). */
export function peerRateLimiter (perSecond = MASTER_REQUESTS_PER_SECOND, burst = MASTER_REQUEST_BURST): RateLimiter {
  return new RateLimiter({ points: burst, duration: Math.max(1, Math.ceil(burst / perSecond)) })
}

export class RegisterService {
  private readonly limiter: RateLimiter
  private readonly maxFiles: number
  private readonly timeoutMs: number

  constructor (private readonly node: FileShareNode, private readonly index: IndexStore, private readonly liveness: Liveness, options: RegisterServiceOptions = {}) {
    this.maxFiles = options.maxFilesPerPeer ?? MAX_FILES_PER_PEER
    this.timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
    this.limiter = peerRateLimiter(options.requestsPerSecond, options.requestBurst)
  }

  async start (): Promise<void> {
    await this.node.handle(PROTOCOL_REGISTER, async (stream: Stream, connection: Connection) => {
      await this.serve(stream, connection)
    }, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
  }

  async stop (): Promise<void> {
    await this.node.unhandle(PROTOCOL_REGISTER)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    await serveExchange(stream, RegisterRequest, RegisterResponse, {
      maxRequestBytes: MAX_REGISTER_FRAME,
      timeoutMs: this.timeoutMs,
      decodeLimits: { files: REGISTER_BATCH, paths: REGISTER_BATCH },
      badRequest: message => ({ status: Status.BAD_REQUEST, message, files: 0 }),
      internalError: message => ({ status: Status.ERROR, message, files: 0 })
    }, request => this.apply(peer, request))
  }

  /** Applies one batch for `peer` (the authenticated remote PeerId). */
  apply (peer: string, request: RegisterRequest): RegisterResponse {
    try {
      this.limiter.consume(peer)
    } catch {
      metrics().refused('rate_limit')
      return { status: Status.RATE_LIMITED, message: 'too many register requests, slow down', files: 0 }
    }
    const files: FileRecord[] = []
    for (const f of request.files) {
      if (f.id.length !== ID_BYTES) return bad(`bad content id length ${f.id.length}`)
      if (!isSafeRelativePath(f.path) || f.path.length > MAX_PATH_LENGTH) return bad(`bad path ${JSON.stringify(f.path.slice(0, 80))}`)
      if (f.size < 0 || f.size > MAX_FILE_SIZE) return bad(`bad size ${f.size}`)
      files.push({ id: f.id, path: f.path, size: f.size })
    }
    for (const path of request.paths) {
      if (!isSafeRelativePath(path)) return bad(`bad path ${JSON.stringify(path.slice(0, 80))}`)
    }
    if (request.op === RegisterRequest.Op.REMOVE && files.length > 0) return bad('REMOVE carries paths, not files')
    let count: number
    if (request.op === RegisterRequest.Op.REMOVE) {
      count = this.index.removePaths(peer, request.paths)
    } else {
      const reset = request.op === RegisterRequest.Op.RESET
      const current = reset ? 0 : this.index.fileCount(peer)
      if (current + files.length > this.maxFiles) {
        metrics().refused('quota')
        return { status: Status.QUOTA_EXCEEDED, message: `at most ${this.maxFiles} files per peer`, files: current }
      }
      count = this.index.addFiles(peer, files, reset)
    }
    this.index.setLive(peer, true)
    this.liveness.connected(peer)
    metrics().registration(RegisterRequest.Op[request.op] ?? String(request.op), files.length)
    log('%s %s: %d files, %d paths -> %d', peer, request.op, files.length, request.paths.length, count)
    return { status: Status.OK, message: '', files: count }
  }
}

function bad (message: string): RegisterResponse {
  return { status: Status.BAD_REQUEST, message, files: 0 }
}
