/**
 * Dialling a provider for a download: a direct connection when one works, the relayed
 * address (through the master) when none does.
 *
 * - An open direct connection to the provider is used as it is (TCP before QUIC: TCP
 *   carries bulk data several times faster in this stack).
 * - A provider that lists /p2p-circuit addresses holds a relay reservation: the master
 *   could not reach it directly. It is dialled through the relay at once (its private
 *   addresses rarely answer, and a QUIC dial to one only times out); DirectUpgrader
 *   (reachability.ts) tries its TCP addresses in the background, and a direct connection
 *   that works is moved to by the download.
 * - Else its direct addresses are dialled (bounded by REQUEST_TIMEOUT_MS: nothing else is left).
 * - At most MAX_DIALS_PER_PROVIDER direct and as many relayed addresses are dialled.
 * - A relayed connection is offered to hole punching (node/hole-punch.ts): when a direct
 *   QUIC connection is punched within its waitMs (config holePunchWaitMs) it is used from
 *   the first request on, so almost nothing crosses the relay; a slower punch goes on in
 *   the background and the download moves to it when it succeeds.
 * - Streams are opened on the chosen connection itself (not `dialProtocol(peer)`, which
 *   ignores limited relayed connections and would dial yet another one).
 * A relayed connection is later replaced by a direct one when either side manages to
 * dial the other (see reachability.ts: DirectUpgrader); the provider pool notices
 * with `connectionPath()` and moves its requests over.
 */
import type { Connection, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import { PROTOCOL_FETCH } from '../../protocols/fetch/constants.js'
import { REQUEST_TIMEOUT_MS } from '../../protocols/constants.js'
import { MAX_DIALS_PER_PROVIDER } from './tuning.js'
import type { FileShareNode } from '../../node/create-node.js'
import { isRelayed, pathOf, withPeerId, transportOf, type PathKind } from '../../node/addresses.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import type { ProviderRef } from './types.js'

const log = logger('fileshare:peer:dial')

interface ProviderStream {
  stream: Stream
  path: PathKind
  /** the connection the stream runs on */
  connection: Connection
}

/** Errors of a stream that could not be opened on a connection the dial returned (see isStreamOpenFailure). */
const streamOpenFailures = new WeakSet<object>()

/**
 * True for an openFetchStream error raised after a connection was found or made: the
 * provider was reachable a moment ago (the connection closed under the stream, e.g. while
 * a reversal or DCUtR replaced it), unlike a dial that reached nobody.
 */
export function isStreamOpenFailure (err: unknown): boolean {
  return typeof err === 'object' && err != null && streamOpenFailures.has(err)
}

/** Opens a /fileshare/fetch stream to `provider`, preferring a direct connection. */
export async function openFetchStream (node: FileShareNode, provider: ProviderRef, signal?: AbortSignal): Promise<ProviderStream> {
  const connection = await dialProvider(node, provider, signal)
  try {
    const stream = await connection.newStream(PROTOCOL_FETCH, {
      runOnLimitedConnection: true,
      signal: withTimeout(REQUEST_TIMEOUT_MS, signal)
    })
    return { stream, path: pathOf(connection), connection }
  } catch (err) {
    if (typeof err === 'object' && err != null) streamOpenFailures.add(err)
    throw err
  }
}

/** A connection to `provider`: an open direct one, else a relayed one (punched when possible) for a provider behind a NAT, else a new direct one. */
async function dialProvider (node: FileShareNode, provider: ProviderRef, signal?: AbortSignal): Promise<Connection> {
  const open = node.getConnections(provider.peer).filter(c => c.status === 'open')
  const direct = bestDirect(open)
  if (direct != null) return direct

  const known: Multiaddr[] = provider.addrs.length > 0
    ? provider.addrs
    : await node.peerStore.get(provider.peer).then(p => p.addresses.map(a => a.multiaddr), () => [])
  // bounded: an address list from anywhere must not make one download dial a host many times
  const directOnes = known.filter(a => !isRelayed(a.toString())).slice(0, MAX_DIALS_PER_PROVIDER)
  const relayOnes = known.filter(a => isRelayed(a.toString())).slice(0, MAX_DIALS_PER_PROVIDER)
  // only the bounded lists go into the peer store (libp2p dials a peer's stored addresses too)
  if (provider.addrs.length > 0) await node.peerStore.merge(provider.peer, { multiaddrs: [...directOnes, ...relayOnes] }).catch(() => {})
  const directAddrs = directOnes.map(a => withPeerId(a, provider.peer))
  const relayAddrs = relayOnes.map(a => withPeerId(a, provider.peer))
  if (directAddrs.length === 0 && relayAddrs.length === 0 && open.length === 0) {
    // nothing known here: let libp2p look the peer up (its peer store, a recent identify)
    return await node.dial(provider.peer, { signal: withTimeout(REQUEST_TIMEOUT_MS, signal) })
  }
  const errors: unknown[] = []
  if (relayAddrs.length > 0 || open.length > 0) {
    // the provider holds a relay reservation: the master could not reach it directly, so
    // the relay goes first; its direct (TCP) addresses are tried in the background by
    // DirectUpgrader (libp2p's dial queue runs one dial per peer at a time: a dial to an
    // unreachable private address would hold the relayed one for seconds)
    try {
      const relayed = open.find(c => pathOf(c) === 'relayed') ??
        await node.dial(relayAddrs, { signal: withTimeout(REQUEST_TIMEOUT_MS, signal) })
      return await preferPunched(node, relayed, signal)
    } catch (err) {
      signal?.throwIfAborted()
      log('no relayed connection to %p: %s', provider.peer, (err as Error)?.message)
      errors.push(err)
    }
  }
  if (directAddrs.length > 0) {
    try {
      // the last way left (no relayed address, or it failed): the whole request time
      return await node.dial(directAddrs, { force: true, signal: withTimeout(REQUEST_TIMEOUT_MS, signal) })
    } catch (err) {
      signal?.throwIfAborted()
      log('no direct connection to %p: %s', provider.peer, (err as Error)?.message)
      errors.push(err)
    }
  }
  const first = toFileShareError(errors[0], 'NETWORK')
  throw new FileShareError('NETWORK', `cannot connect to ${provider.peer.toString()}: ${first.message}`, { cause: errors[0] })
}

/** The open direct connection to prefer: TCP (fastest for bulk data here), else QUIC, else null. */
export function bestDirect (connections: Connection[]): Connection | null {
  const direct = connections.filter(c => c.status === 'open' && pathOf(c) === 'direct')
  return direct.find(c => transportOf(c.remoteAddr) === 'tcp') ?? direct[0] ?? null
}

/**
 * Whether a session on `current` should move to another open connection to its peer: off
 * a relay as soon as a direct connection exists, and off QUIC when a direct TCP one
 * exists (bulk data is several times faster over TCP here: BENCHMARKS.md).
 */
export function betterConnection (node: FileShareNode, current: Connection): Connection | null {
  const best = bestDirect(node.getConnections(current.remotePeer))
  if (best == null || best === current) return null
  if (pathOf(current) === 'relayed' || current.status !== 'open') return best
  return transportOf(current.remoteAddr) === 'quic' && transportOf(best.remoteAddr) === 'tcp' ? best : null
}

/** `relayed`, or the direct connection a hole punch gives within its waitMs (the punch goes on after that). */
async function preferPunched (node: FileShareNode, relayed: Connection, signal?: AbortSignal): Promise<Connection> {
  const puncher = node.services.holePunch
  if (puncher == null || pathOf(relayed) !== 'relayed') return relayed
  if (puncher.waitMs <= 0) {
    void puncher.punch(relayed).catch(() => null)
    return relayed
  }
  let timer: NodeJS.Timeout | undefined
  const punched = await Promise.race([
    puncher.punch(relayed).catch(() => null),
    new Promise<null>(resolve => { timer = setTimeout(() => { resolve(null) }, puncher.waitMs) })
  ])
  clearTimeout(timer)
  signal?.throwIfAborted()
  return punched != null && punched.status === 'open' ? punched : relayed
}

/**
 * A fetch stream on a new relayed connection to the peer of `current` (a relayed
 * connection near its relay's data limit), or on a direct one if one exists by now.
 */
export async function openFreshFetchStream (node: FileShareNode, current: Connection, signal?: AbortSignal): Promise<ProviderStream> {
  const connection = bestDirect(node.getConnections(current.remotePeer)) ??
    await node.dial(current.remoteAddr, { force: true, signal: withTimeout(REQUEST_TIMEOUT_MS, signal) })
  const stream = await connection.newStream(PROTOCOL_FETCH, { runOnLimitedConnection: true, signal: withTimeout(REQUEST_TIMEOUT_MS, signal) })
  return { stream, path: pathOf(connection), connection }
}

/** Bytes a relayed connection may still carry before its relay cuts it (Infinity without a data limit). */
export function relayBytesLeft (connection: Connection): number {
  const bytes = connection.limits?.bytes
  return bytes == null ? Infinity : Number(bytes)
}

/** Closes relayed connections to `peer` that carry no stream: a direct one replaced them, and each holds relay resources on the master. */
export function closeIdleRelayed (node: FileShareNode, peer: ProviderRef['peer']): void {
  for (const c of node.getConnections(peer)) {
    if (c.status === 'open' && pathOf(c) === 'relayed' && c.streams.length === 0) {
      c.close().catch(() => {})
    }
  }
}

function withTimeout (ms: number, signal?: AbortSignal): AbortSignal {
  return signal != null ? AbortSignal.any([AbortSignal.timeout(ms), signal]) : AbortSignal.timeout(ms)
}
