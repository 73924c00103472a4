/**
 * The relay serves FileShare, nothing else. Who may reserve a relay slot on the master:
 *
 * - a peer connected to it directly (never over another relayed connection),
 * - that registered files with this master (a peer still sending its first registration
 *   gets `registrationWaitMs` to finish it: reachability and registration start together),
 * - that the master could not reach by dial-back (a peer the dial-back reached is public
 *   and needs no slot; a peer that never asked for one, e.g. one configured `relayed` or
 *   with no listen address, may reserve),
 * - while fewer than `maxPerIp` reservations are held from its IP address.
 * Merely listing a FileShare protocol in identify is worth nothing: fake peers cannot take
 * the slots a NATed sharing peer needs.
 *
 * A relayed connection (CONNECT) is opened only to a peer that holds a slot and is still
 * registered. What runs inside a relayed connection is end-to-end encrypted between its two
 * ends: the master cannot read protocol ids there, so what bounds a registered peer that
 * tunnels something else is the slot rules above and the relay's per-connection data and
 * duration limits (SECURITY.md).
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import type { FileShareNode } from '../node/create-node.js'
import { connectionPath, ipOf, isRelayed } from '../node/addresses.js'
import type { IndexStore } from './index-store.js'
import { metrics } from '../metrics/metrics.js'
import type { VerifiedAddrs } from './verified-addrs.js'

const log = logger('fileshare:master:relay-gate')

export interface RelayGateTarget {
  node: FileShareNode
  index: Pick<IndexStore, 'isLive' | 'fileCount'>
  verified: Pick<VerifiedAddrs, 'isPublic'>
}

export interface RelayGateOptions {
  /** reservations held from one IP address at once (0 = no cap) */
  maxPerIp: number
  /** how long a reserving peer that has not registered yet gets to do so, ms */
  registrationWaitMs: number
}

/** A connection gater for the master; `target` is read at call time (the node is created with the gater). */
export function relayGate (target: () => RelayGateTarget | null, options: RelayGateOptions): Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'> {
  return {
    denyInboundRelayReservation: async (peer: PeerId) => {
      const t = target()
      const refusal = t == null ? 'not started' : await whyNot(t, peer, options)
      log('reservation from %p %s', peer, refusal == null ? 'allowed' : `refused: ${refusal}`)
      if (refusal != null) metrics().refused('relay_refused')
      return refusal != null
    },
    // the relay only connects downloaders to peers that hold a slot by these rules and are still registered
    denyOutboundRelayedConnection: async (_source: PeerId, destination: PeerId) => {
      const t = target()
      return t == null || !isRegistered(t, destination)
    }
  }
}

/** Why `peer` gets no reservation (null: it gets one). */
async function whyNot (t: RelayGateTarget, peer: PeerId, options: RelayGateOptions): Promise<string | null> {
  if (connectionPath(t.node, peer) !== 'direct') return 'not connected directly'
  if (t.verified.isPublic(peer.toString())) return 'a dial-back reached it: it is public'
  const deadline = Date.now() + options.registrationWaitMs
  while (!isRegistered(t, peer)) {
    if (Date.now() >= deadline || connectionPath(t.node, peer) !== 'direct') return 'it registered no files'
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  if (options.maxPerIp > 0) {
    const ip = directIp(t.node, peer)
    if (ip != null && reservationsFrom(t.node, ip, peer) >= options.maxPerIp) return `${options.maxPerIp} reservations from ${ip} already`
  }
  return null
}

function isRegistered (t: RelayGateTarget, peer: PeerId): boolean {
  const key = peer.toString()
  return t.index.isLive(key) === true && t.index.fileCount(key) > 0
}

function directIp (node: FileShareNode, peer: PeerId): string | undefined {
  for (const c of node.getConnections(peer)) {
    if (c.status !== 'open' || isRelayed(c.remoteAddr.toString())) continue
    const ip = ipOf(c.remoteAddr)
    if (ip != null) return ip
  }
  return undefined
}

/** Reservations held from `ip`, other than `peer`'s own (a refresh is not a new slot). */
function reservationsFrom (node: FileShareNode, ip: string, peer: PeerId): number {
  const reservations = node.services.relay?.reservations
  if (reservations == null) return 0
  let n = 0
  for (const [holder, r] of reservations.entries()) {
    if (!holder.equals(peer) && ipOf(r.addr) === ip) n++
  }
  return n
}
