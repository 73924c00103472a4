/**
 * A small libp2p service that marks listen addresses as verified. libp2p (v3) announces
 * a public IP address only once something verified it (AutoNAT); private ones it
 * announces as they are. FileShare verifies its own way: the master is public by design,
 * and a sharing peer is public once the master's dial-back reached it.
 */
import type { Listener, Libp2pEvents, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { withoutPeerId } from './addresses.js'

/** A year: confirmed addresses are not checked again (libp2p re-checks only through AutoNAT). */
const CONFIRMED_TTL_MS = 365 * 24 * 3600 * 1000

export interface PublicAddressesComponents {
  addressManager: { confirmObservedAddr: (addr: Multiaddr, options?: { type?: string, ttl?: number }) => void }
  transportManager: { getAddrs: () => Multiaddr[] }
  events: TypedEventTarget<Libp2pEvents>
}

export interface PublicAddressesInit {
  /** confirm every listen address, also those of listeners that start later (the master) */
  allListeners?: boolean
}

export interface PublicAddresses {
  /** marks `addrs` (some of our listen addresses) as verified: libp2p announces them */
  confirm: (addrs: Multiaddr[]) => void
  /** our listen addresses, verified or not (without /p2p) */
  listenAddrs: () => Multiaddr[]
}

class DefaultPublicAddresses implements PublicAddresses {
  private readonly onListening = (evt: CustomEvent<Listener>): void => { this.confirm(evt.detail.getAddrs()) }

  constructor (private readonly components: PublicAddressesComponents, private readonly init: PublicAddressesInit) {}

  start (): void {}

  afterStart (): void {
    if (this.init.allListeners !== true) return
    // listeners may still be starting: confirm what is there and whatever comes later
    this.confirm(this.components.transportManager.getAddrs())
    this.components.events.addEventListener('transport:listening', this.onListening)
  }

  stop (): void {
    this.components.events.removeEventListener('transport:listening', this.onListening)
  }

  confirm (addrs: Multiaddr[]): void {
    for (const addr of addrs) this.components.addressManager.confirmObservedAddr(withoutPeerId(addr), { type: 'transport', ttl: CONFIRMED_TTL_MS })
  }

  listenAddrs (): Multiaddr[] {
    return this.components.transportManager.getAddrs().map(withoutPeerId)
  }
}

export function publicAddresses (init: PublicAddressesInit = {}): (components: PublicAddressesComponents) => PublicAddresses {
  return (components) => new DefaultPublicAddresses(components, init)
}
