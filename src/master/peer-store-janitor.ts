/**
 * Nothing grows per stranger (issue 10, item 11), in libp2p's peer store too: identify
 * stores the addresses, protocols and public key of every key that merely connects. The
 * master forgets a peer once it has no connection left and no row in the index (it never
 * registered, or its records were pruned): shortly after its last connection closed, and
 * in a periodic sweep (which also catches entries written after the disconnect, e.g. by a
 * late identify).
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import type { FileShareNode } from '../node/create-node.js'
import { PEER_STORE_FORGET_MS, PEER_STORE_SWEEP_MS } from './tuning.js'

const log = logger('fileshare:master:peer-store')

export interface PeerStoreJanitorOptions {
  /** whether the index holds a row for `peer` (registered, live or not) */
  indexed: (peer: string) => boolean
  /** after the last connection closed, wait this long before forgetting, ms */
  forgetMs?: number
  /** the whole store is swept this often, ms */
  sweepMs?: number
}

export class PeerStoreJanitor {
  private node: FileShareNode | null = null
  private readonly pending = new Map<string, NodeJS.Timeout>()
  private sweeper: NodeJS.Timeout | null = null
  /** peer-store entries deleted so far */
  forgotten = 0
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.later(evt.detail) }

  constructor (private readonly options: PeerStoreJanitorOptions) {}

  start (node: FileShareNode): void {
    this.node = node
    node.addEventListener('peer:disconnect', this.onDisconnect)
    this.sweeper = setInterval(() => { void this.sweep() }, this.options.sweepMs ?? PEER_STORE_SWEEP_MS)
    this.sweeper.unref()
  }

  stop (): void {
    this.node?.removeEventListener('peer:disconnect', this.onDisconnect)
    if (this.sweeper != null) clearInterval(this.sweeper)
    this.sweeper = null
    for (const t of this.pending.values()) clearTimeout(t)
    this.pending.clear()
    this.node = null
  }

  /** Forgets every peer with no connection and no index row now; returns how many. */
  async sweep (): Promise<number> {
    const node = this.node
    if (node == null) return 0
    let n = 0
    try {
      for (const peer of await node.peerStore.all()) {
        if (await this.forget(peer.id)) n++
      }
    } catch (err: any) {
      log.error('sweeping the peer store failed: %s', err?.message ?? err)
    }
    return n
  }

  private later (peer: PeerId): void {
    const key = peer.toString()
    if (this.pending.has(key) || this.node == null) return
    const t = setTimeout(() => {
      this.pending.delete(key)
      void this.forget(peer)
    }, this.options.forgetMs ?? PEER_STORE_FORGET_MS)
    t.unref()
    this.pending.set(key, t)
  }

  private async forget (peer: PeerId): Promise<boolean> {
    const node = this.node
    if (node == null || peer.equals(node.peerId)) return false
    if (node.getConnections(peer).length > 0) return false
    let indexed = true
    try {
      indexed = this.options.indexed(peer.toString())
    } catch {}
    if (indexed) return false
    try {
      await node.peerStore.delete(peer)
      this.forgotten++
      return true
    } catch {
      return false
    }
  }
}
