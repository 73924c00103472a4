/**
 * A small libp2p service that reserves a slot on a circuit relay by listening on
 * `<relay>/p2p-circuit`, through the node's transport manager (which it receives as a
 * component: nothing reaches into the node's internals).
 */
import type { Listener } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface RelayReservationsComponents {
  transportManager: {
    getListeners: () => Listener[]
    listen: (addrs: Multiaddr[]) => Promise<void>
  }
}

export interface RelayReservations {
  /**
   * Listens on `<relay>/p2p-circuit`. The first time through the transport manager (so the
   * relay addresses become ours and identify push announces them); later on the same
   * listener, which makes a new reservation and reports why one failed. With NO_FATAL
   * fault tolerance a failed first reservation does not throw: the caller checks the
   * node's addresses.
   */
  reserve: (relayCircuitAddr: Multiaddr) => Promise<void>
}

class DefaultRelayReservations implements RelayReservations {
  constructor (private readonly components: RelayReservationsComponents) {}

  async reserve (addr: Multiaddr): Promise<void> {
    // the circuit relay transport's listener is the one holding a reservation store
    const existing = this.components.transportManager.getListeners().find((l: any) => l.reservationStore != null)
    if (existing != null) {
      await existing.listen(addr)
      return
    }
    await this.components.transportManager.listen([addr])
  }
}

export function relayReservations (): (components: RelayReservationsComponents) => RelayReservations {
  return (components) => new DefaultRelayReservations(components)
}
