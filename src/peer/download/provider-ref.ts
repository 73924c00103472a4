/**
 * A provider of a content id as a lookup names it: its peer id and the addresses to dial
 * (see provider-pool.ts, which dials it, and dial.ts).
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface ProviderRef {
  peer: PeerId
  /** addresses to dial (may be empty when the node already knows the peer) */
  addrs: Multiaddr[]
}
