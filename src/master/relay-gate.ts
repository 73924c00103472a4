/**
 * Who may reserve a relay slot on the master: only peers connected to it directly that
 * speak FileShare (they registered with this master, or identify lists the FileShare fetch
 * protocol). Everyone else is refused, so the master is not an open relay for the world;
 * reservations are further bounded by relay.maxReservations and the per-connection limits.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { PROTOCOL_FETCH } from '../protocols/fetch/constants.js'
import type { FileShareNode } from '../node/create-node.js'
import { connectionPath } from '../node/addresses.js'
import type { IndexStore } from './index-store.js'

const log = logger('fileshare:master:relay-gate')

export interface RelayGateTarget {
  node: FileShareNode
  index: IndexStore
}

/** A connection gater for the master; `target` is read at call time (the node is created with the gater). */
export function relayGate (target: () => RelayGateTarget | null): ConnectionGater {
  return {
    denyInboundRelayReservation: async (peer: PeerId) => {
      const t = target()
      const allowed = t != null && await speaksFileShare(t, peer)
      log('reservation from %p %s', peer, allowed ? 'allowed' : 'refused')
      return !allowed
    }
  }
}

async function speaksFileShare ({ node, index }: RelayGateTarget, peer: PeerId): Promise<boolean> {
  if (connectionPath(node, peer) !== 'direct') return false
  if (index.isLive(peer.toString()) === true) return true
  try {
    const stored = await node.peerStore.get(peer)
    return stored.protocols.includes(PROTOCOL_FETCH)
  } catch {
    return false
  }
}
