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
    try {
      await this.node.peerStore.merge(this.peer, { multiaddrs: [this.addr] })
      const stream = await this.node.dialProtocol(this.peer, protocol, { signal, runOnLimitedConnection: true })
      return await exchange<Req, Res>(stream, request, reqCodec, resCodec, { signal, maxResponseBytes: options.maxResponseBytes, decodeLimits: options.decodeLimits })
    } catch (err) {
      const e = toFileShareError(err, 'NETWORK')
      if (e.code === 'NETWORK' || e.code === 'INTERNAL') {
        throw new FileShareError('NETWORK', `master ${this.addr.toString()} unreachable: ${e.message}`, { cause: err })
      }
      throw e
    }
  }
}
