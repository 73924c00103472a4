/**
 * Dialling a provider for a download: a direct connection when one works, the relayed
 * address (through the master) when none does.
 *
 * - An open direct connection to the provider is used as it is.
 * - Else the provider's direct addresses are dialled first (bounded by
 *   DIRECT_DIAL_TIMEOUT_MS when a relayed address is left to try, else by
 *   REQUEST_TIMEOUT_MS), then its /p2p-circuit addresses; at most
 *   MAX_DIALS_PER_PROVIDER of each.
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
import { DIRECT_DIAL_TIMEOUT_MS, MAX_DIALS_PER_PROVIDER } from './tuning.js'
import type { FileShareNode } from '../../node/create-node.js'
import { isRelayed, pathOf, withPeerId, type PathKind } from '../../node/addresses.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import type { ProviderRef } from './types.js'

const log = logger('fileshare:peer:dial')

interface ProviderStream {
  stream: Stream
  path: PathKind
}

/** Opens a /fileshare/fetch stream to `provider`, preferring a direct connection. */
export async function openFetchStream (node: FileShareNode, provider: ProviderRef, signal?: AbortSignal): Promise<ProviderStream> {
  const connection = await dialProvider(node, provider, signal)
  const stream = await connection.newStream(PROTOCOL_FETCH, {
    runOnLimitedConnection: true,
    signal: withTimeout(REQUEST_TIMEOUT_MS, signal)
  })
  return { stream, path: pathOf(connection) }
}

/** A connection to `provider`: an open direct one, else a new direct one, else a relayed one. */
async function dialProvider (node: FileShareNode, provider: ProviderRef, signal?: AbortSignal): Promise<Connection> {
  const open = node.getConnections(provider.peer).filter(c => c.status === 'open')
  const direct = open.find(c => pathOf(c) === 'direct')
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
  const errors: unknown[] = []

  if (directAddrs.length > 0) {
    // the short bound only leaves time for the relay: with no relayed way to fall back on, a
    // slow handshake (a busy provider, a loaded machine) gets the whole request time
    const relayLeft = relayAddrs.length > 0 || open.some(c => pathOf(c) === 'relayed')
    try {
      return await node.dial(directAddrs, { signal: withTimeout(relayLeft ? DIRECT_DIAL_TIMEOUT_MS : REQUEST_TIMEOUT_MS, signal) })
    } catch (err) {
      signal?.throwIfAborted()
      log('no direct connection to %p: %s', provider.peer, (err as Error)?.message)
      errors.push(err)
    }
  }
  const relayed = open.find(c => c.status === 'open' && pathOf(c) === 'relayed')
  if (relayed != null) return relayed
  if (relayAddrs.length > 0) {
    try {
      return await node.dial(relayAddrs, { signal: withTimeout(REQUEST_TIMEOUT_MS, signal) })
    } catch (err) {
      signal?.throwIfAborted()
      errors.push(err)
    }
  }
  if (directAddrs.length === 0 && relayAddrs.length === 0) {
    // nothing known here: let libp2p look the peer up (its peer store, a recent identify)
    return await node.dial(provider.peer, { signal: withTimeout(REQUEST_TIMEOUT_MS, signal) })
  }
  const first = toFileShareError(errors[0], 'NETWORK')
  throw new FileShareError('NETWORK', `cannot connect to ${provider.peer.toString()}: ${first.message}`, { cause: errors[0] })
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
