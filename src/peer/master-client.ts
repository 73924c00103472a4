/**
 * The peer's view of its master: one address, and the client halves of the master
 * protocols (lookup, register, dialback; each in src/protocols/) behind one object.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MasterLink, type DialingNode } from '../protocols/master-link.js'
import { LookupClient } from '../protocols/lookup/client.js'
import { RegisterClient } from '../protocols/register/client.js'
import { DialBackClient } from '../protocols/dialback/client.js'
import type { RegisterRequest, RegisterResponse } from '../protocols/register/pb/register.js'
import type { PeerAddrs, SearchResult } from '../protocols/lookup/index.js'
import type { DialBackResult } from '../protocols/dialback/index.js'

export type { SearchResult }
export type { SharedFile } from '../protocols/register/client.js'

export class MasterClient {
  readonly peer: PeerId
  readonly addr: Multiaddr
  readonly lookup: LookupClient
  readonly registry: RegisterClient
  readonly reachability: DialBackClient

  constructor (node: DialingNode, addr: Multiaddr) {
    const link = new MasterLink(node, addr)
    this.peer = link.peer
    this.addr = addr
    this.lookup = new LookupClient(link)
    this.registry = new RegisterClient(link)
    this.reachability = new DialBackClient(link)
  }

  /** A sample of the live providers of `id` (none of `exclude`), and what the index calls it (when a live peer shares it). */
  async providers (id: Uint8Array, exclude?: PeerId[]): Promise<{ providers: PeerAddrs[], file?: SearchResult }> {
    return await this.lookup.providers(id, exclude)
  }

  async search (query: string, limit?: number): Promise<SearchResult[]> {
    return await this.lookup.search(query, limit)
  }

  async findByName (name: string): Promise<SearchResult[]> {
    return await this.lookup.findByName(name)
  }

  /** The current addresses of `peer` as the master knows them ("connect to a peer"). */
  async peerAddrs (peer: PeerId): Promise<Multiaddr[]> {
    return await this.lookup.peerAddrs(peer)
  }

  /** One register request; `signal` replaces the usual REQUEST_TIMEOUT_MS. */
  async register (request: RegisterRequest, signal?: AbortSignal): Promise<RegisterResponse> {
    return await this.registry.send(request, signal)
  }

  /** Asks the master to dial `addrs` back on new connections: the ones it reached, and how it sees us. */
  async dialBack (addrs: Multiaddr[]): Promise<DialBackResult> {
    return await this.reachability.dialBack(addrs)
  }
}
