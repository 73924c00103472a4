/**
 * The client half shared by the master protocols (register, lookup, dialback): a known
 * master (address ending in /p2p/<PeerId>) and one request/response exchange per stream,
 * every failure to reach it reported as a NETWORK FileShareError.
 */
import type { PeerId, Stream, AbortOptions } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { exchange, type Codec } from './stream-io.js'
import { REQUEST_TIMEOUT_MS } from './constants.js'
import { FileShareError, toFileShareError } from '../errors.js'

/** What a client needs of the local node (a libp2p node fits). */
export interface DialingNode {
  peerId: PeerId
  peerStore: { merge: (peer: PeerId, data: { multiaddrs: Multiaddr[] }) => Promise<unknown> }
  dialProtocol: (peer: PeerId, protocol: string, options?: AbortOptions & { runOnLimitedConnection?: boolean }) => Promise<Stream>
}

export interface CallOptions {
  maxResponseBytes: number
  decodeLimits?: Record<string, any>
  /** @default AbortSignal.timeout(REQUEST_TIMEOUT_MS) */
  signal?: AbortSignal
}

export class MasterLink {
  readonly peer: PeerId

  constructor (private readonly node: DialingNode, readonly addr: Multiaddr) {
    const id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
    if (id == null) throw new FileShareError('USAGE', `master address ${addr.toString()} must end with /p2p/<PeerId>`)
    this.peer = node.peerId.toString() === id ? node.peerId : peerIdFromString(id)
  }

  /** The local node's PeerId. */
  get self (): PeerId {
    return this.node.peerId
  }

  async call<Req, Res> (protocol: string, request: Req, reqCodec: Codec<Req>, resCodec: Codec<Res>, options: CallOptions): Promise<Res> {
    const signal = options.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const dialSignal = signal
    let dialled = false
    try {
      await this.node.peerStore.merge(this.peer, { multiaddrs: [this.addr] })
      const stream = await this.node.dialProtocol(this.peer, protocol, { signal: dialSignal, runOnLimitedConnection: true })
      dialled = true
      return await exchange<Req, Res>(stream, request, reqCodec, resCodec, { signal, maxResponseBytes: options.maxResponseBytes, decodeLimits: options.decodeLimits })
    } catch (err) {
      const e = toFileShareError(err, 'NETWORK')
      if (e.code === 'NETWORK' || e.code === 'INTERNAL') {
        throw new FileShareError('NETWORK', describeFailure(this.addr.toString(), this.peer.toString(), err, dialled ? null : dialSignal, e.message), { cause: err })
      }
      throw e
    }
  }
}

/** Every error in `err`'s chain (causes, AggregateErrors). */
function chain (err: unknown, depth = 0): any[] {
  if (err == null || typeof err !== 'object' || depth > 5) return []
  const e = err as any
  return [e, ...chain(e.cause, depth + 1), ...(Array.isArray(e.errors) ? e.errors.flatMap((x: unknown) => chain(x, depth + 1)) : [])]
}

/** What was tried and what to check, in one line. */
function describeFailure (addr: string, peer: string, err: unknown, dialSignal: AbortSignal | null, fallback: string): string {
  const all = chain(err)
  if (all.some(e => e?.name === 'UnexpectedPeerError' || (e?.name === 'EncryptionFailedError' && /does not match|expected/i.test(String(e?.message))) || /does not match the expected/i.test(String(e?.message)))) {
    return `the peer at ${addr} is not the master ${peer}: check the /p2p/ part of the master address`
  }
  if (all.some(e => e?.code === 'ECONNREFUSED')) {
    return `cannot reach the master at ${addr}: connection refused (check that the master runs and the host and port)`
  }
  if (dialSignal?.aborted === true || all.some(e => e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT')) {
    const seconds = REQUEST_TIMEOUT_MS / 1000
    return `no answer from the master at ${addr} in ${seconds} s (check the address, that the master runs, and firewalls)`
  }
  return `master ${addr} unreachable: ${fallback}`
}
