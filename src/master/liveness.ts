/**
 * Tracks which peers are live: a peer is live while it has a connection to the master,
 * and for a short grace period after its last connection closed (so a reconnect does not
 * flap its records). Feeds IndexStore.setLive.
 */
import type { PeerId } from '@libp2p/interface'
import type { FileShareNode } from '../node/create-node.js'
import type { IndexStore } from './index-store.js'
import { logger } from '@libp2p/logger'

const log = logger('fileshare:master:liveness')

export class Liveness {
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { this.connected(evt.detail.toString()) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.disconnected(evt.detail.toString()) }

  constructor (private readonly node: FileShareNode, private readonly index: IndexStore, private readonly graceMs: number) {}

  start (): void {
    this.node.addEventListener('peer:connect', this.onConnect)
    this.node.addEventListener('peer:disconnect', this.onDisconnect)
  }

  stop (): void {
    this.node.removeEventListener('peer:connect', this.onConnect)
    this.node.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  /**
   * A peer that connects again within the grace keeps its records live. A connection alone
   * never makes records live again (the same key may connect just to search): only a
   * registration does (RegisterService marks the peer live when it announces).
   */
  connected (peer: string): void {
    const timer = this.timers.get(peer)
    if (timer != null) {
      clearTimeout(timer)
      this.timers.delete(peer)
    }
  }

  private disconnected (peer: string): void {
    if (this.timers.has(peer) || this.isConnected(peer)) return
    const timer = setTimeout(() => {
      this.timers.delete(peer)
      if (this.isConnected(peer)) return
      try {
        this.index.setLive(peer, false)
      } catch (err: any) {
        // a full disk must never crash the master from a timer: the mark is stale until it can write
        log.error('cannot mark %s not live: %s', peer, err?.message ?? err)
      }
    }, this.graceMs)
    timer.unref()
    this.timers.set(peer, timer)
  }

  private isConnected (peer: string): boolean {
    return this.node.getConnections().some(c => c.remotePeer.toString() === peer && c.status === 'open')
  }
}
