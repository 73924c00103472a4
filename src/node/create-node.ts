/**
 * The libp2p node factory shared by the master, sharing peers and one-shot clients:
 * TCP + noise + yamux + identify, and circuit relay v2 (server on the master, transport on
 * peers). Connection limits are sized for a swarm (the libp2p defaults turn away more
 * than 5 inbound connections per second from one host, and NATed peers share one IP).
 * Callers add their own services (the master its protocol servers, a peer its fetch
 * server): libp2p hands each one the node's components and starts and stops it with the
 * node. Address and connection helpers: addresses.ts.
 */
import './polyfill.js'
import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { FaultTolerance, type PrivateKey, type ConnectionGater } from '@libp2p/interface'
import { relayReservations, type RelayReservations } from './relay-reservations.js'
import { libp2pMetrics } from '../metrics/prometheus.js'

/**
 * Streams a peer opens before this side has finished its part of the connection upgrade
 * are held as "early streams"; past maxEarlyStreams (libp2p default 10) the whole
 * connection is reset. A client sending a burst of requests on a fresh connection
 * (identify plus ten lookups) crossed that on a busy master: allow twice the streams one
 * protocol serves per connection (MAX_INBOUND_STREAMS = 32 in protocols/constants.ts).
 */
const MAX_EARLY_STREAMS = 64
/** Addresses of one peer a single dial tries (libp2p's default is 25). */
export const MAX_PEER_ADDRS_TO_DIAL = 8

export interface RelayServerConfig {
  maxReservations: number
  /** bytes per relayed connection (both directions), 0 = unlimited */
  dataLimit: number
  /** milliseconds per relayed connection, 0 = unlimited */
  durationLimit: number
  /** seconds a reservation lasts before the peer must refresh it */
  reservationTtl: number
}

export interface NodeOptions<S extends Record<string, unknown> = Record<never, never>> {
  privateKey?: PrivateKey
  listen: string[]
  announce?: string[]
  /** run a circuit relay v2 server (the master) */
  relayServer?: RelayServerConfig
  /** dial and listen through circuit relays (sharing peers, clients) */
  relayTransport?: boolean
  maxConnections?: number
  /**
   * new inbound connections accepted per second from one IP address (default: maxConnections,
   * at least 100: NATed peers share an IP)
   */
  inboundConnectionsPerIpPerSecond?: number
  connectionGater?: ConnectionGater
  /** further libp2p services, started and stopped with the node (keys must not clash with NodeServices) */
  services?: ServiceFactoryMap<S>
}

export interface NodeServices {
  identify: Identify
  identifyPush: IdentifyPush
  relay?: CircuitRelayService
  /** present when the node dials and listens through relays (relayTransport) */
  relayReservations?: RelayReservations
  [key: string]: unknown
}

export type FileShareNode<S extends Record<string, unknown> = Record<never, never>> = Libp2p<NodeServices & S>

export async function createNode<S extends Record<string, unknown> = Record<never, never>> (options: NodeOptions<S>): Promise<FileShareNode<S>> {
  // identify push tells connected peers (the master) when our addresses change, e.g. a
  // relay reservation added a /p2p-circuit address
  const services: Record<string, any> = { identify: identify(), identifyPush: identifyPush() }
  if (options.relayTransport === true) services.relayReservations = relayReservations()
  if (options.relayServer != null) {
    const r = options.relayServer
    const limited = r.dataLimit > 0 || r.durationLimit > 0
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: r.maxReservations,
        reservationTtl: r.reservationTtl * 1000,
        applyDefaultLimit: limited,
        ...(limited
          ? {
              // 0 for one of the two means "as large as the other allows"
              defaultDataLimit: BigInt(r.dataLimit > 0 ? r.dataLimit : Number.MAX_SAFE_INTEGER),
              defaultDurationLimit: r.durationLimit > 0 ? r.durationLimit : 2 ** 31 - 1
            }
          : {})
      }
    })
  }
  const maxConnections = options.maxConnections ?? 1000
  return await createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen: options.listen, announce: options.announce ?? [] },
    transports: [tcp(), ...(options.relayTransport === true ? [circuitRelayTransport()] : [])],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxEarlyStreams: MAX_EARLY_STREAMS })],
    connectionGater: {
      // loopback and private addresses are normal here: tests, LANs and NAT labs use them
      denyDialMultiaddr: () => false,
      ...options.connectionGater
    },
    connectionManager: {
      maxConnections,
      inboundConnectionThreshold: options.inboundConnectionsPerIpPerSecond ?? Math.max(100, maxConnections),
      maxIncomingPendingConnections: Math.max(64, Math.ceil(maxConnections / 4)),
      // one dial tries at most this many of a peer's addresses (a peer's address list is not
      // a way to make this node connect to a third host over and over)
      maxPeerAddrsToDial: MAX_PEER_ADDRS_TO_DIAL
    },
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL },
    metrics: libp2pMetrics({ relayServer: options.relayServer != null }),
    services: { ...services, ...options.services } as any
  }) as FileShareNode<S>
}
