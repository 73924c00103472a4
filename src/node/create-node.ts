/**
 * The libp2p node factory shared by the master, sharing peers and one-shot clients:
 * TCP (+ TLS or noise, + yamux) and QUIC side by side, identify, and circuit relay v2
 * (server on the master; transport, DCUtR and hole punching on peers). Connection limits
 * are sized for a swarm (the libp2p defaults turn away more than 5 inbound connections per
 * second from one host, and NATed peers share one IP).
 * Either transport works alone (`transports`); listen addresses of a transport that is
 * off are dropped. TCP carries bulk data best (BENCHMARKS.md: TCP+TLS ≈ TCP+noise ≫ QUIC
 * in this stack); QUIC is there because UDP is what a NAT lets two peers punch through.
 * Callers add their own services (the master its protocol servers, a peer its fetch
 * server): libp2p hands each one the node's components and starts and stops it with the
 * node. Address and connection helpers: addresses.ts.
 */
import './polyfill.js'
import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { quic } from '@chainsafe/libp2p-quic'
import { noise } from '@chainsafe/libp2p-noise'
import { lazyTls, loadTls } from './lazy-tls.js'
import { dcutr } from '@libp2p/dcutr'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { FaultTolerance, type PrivateKey, type ConnectionGater } from '@libp2p/interface'
import { relayReservations, type RelayReservations } from './relay-reservations.js'
import { metrics } from '../metrics/metrics.js'
import { holePunch, type HolePunch } from './hole-punch.js'
import { publicAddresses, type PublicAddresses } from './public-addresses.js'
import { transportOf, TRANSPORTS, type TransportName } from './addresses.js'

import { DEFAULT_ENCRYPTERS, type EncrypterName } from './transport-names.js'
export type { TransportName } from './addresses.js'
export { DEFAULT_ENCRYPTERS, type EncrypterName } from './transport-names.js'

/**
 * Streams a peer opens before this side has finished its part of the connection upgrade
 * are held as "early streams"; past maxEarlyStreams (libp2p default 10) the whole
 * connection is reset. A client sending a burst of requests on a fresh connection
 * (identify plus ten lookups) crossed that on a busy master: allow twice the streams one
 * protocol serves per connection (MAX_INBOUND_STREAMS = 32 in protocols/constants.ts).
 */
const MAX_EARLY_STREAMS = 64
/**
 * libp2p's connection monitor pings every connection each 10 s and aborts one whose ping
 * takes longer than an adaptive timeout of at least 5 s. A ping is a new stream queued
 * behind the data already sent on the connection: on a full uplink (a seeder sending
 * chunks to a flash crowd at 40 Mbit/s, BENCHMARKS.md) it took longer, and connections
 * carrying megabytes of chunks in flight were aborted (3–10 per 8-downloader run, each
 * losing the chunks in flight). A connection must now stay silent this long to be cut.
 */
export const CONNECTION_PING_TIMEOUT_MS = 30_000
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
  /** transports to dial and listen with (default both); listen addresses of the others are dropped */
  transports?: readonly TransportName[]
  /** TCP connection encrypters in order of preference (default DEFAULT_ENCRYPTERS); QUIC has its own TLS */
  encrypters?: readonly EncrypterName[]
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
  /**
   * take every listen address for a verified public address (the master: public by
   * design). libp2p announces a public IP only once something verified it (AutoNAT, or
   * the publicAddresses service); private ones are announced as they are.
   */
  publicListenAddrs?: boolean
  /** see HolePunchInit.waitMs */
  holePunchWaitMs?: number
  /** further libp2p services, started and stopped with the node (keys must not clash with NodeServices) */
  services?: ServiceFactoryMap<S>
}

export interface NodeServices {
  identify: Identify
  identifyPush: IdentifyPush
  relay?: CircuitRelayService
  /** present when the node dials and listens through relays (relayTransport) */
  relayReservations?: RelayReservations
  /** QUIC hole punching over relayed connections (peers with QUIC and the relay transport) */
  holePunch?: HolePunch
  /** confirms listen addresses as public (libp2p announces them then) */
  publicAddresses: PublicAddresses
  [key: string]: unknown
}

export type FileShareNode<S extends Record<string, unknown> = Record<never, never>> = Libp2p<NodeServices & S>

export async function createNode<S extends Record<string, unknown> = Record<never, never>> (options: NodeOptions<S>): Promise<FileShareNode<S>> {
  // identify push tells connected peers (the master) when our addresses change, e.g. a
  // relay reservation added a /p2p-circuit address
  const transports = options.transports ?? TRANSPORTS
  const services: Record<string, any> = {
    identify: identify(),
    identifyPush: identifyPush(),
    publicAddresses: publicAddresses({ allListeners: options.publicListenAddrs })
  }
  if (options.relayTransport === true) {
    services.relayReservations = relayReservations()
    // DCUtR: a relayed connection is upgraded to a direct one where the other side has a
    // public address (see hole-punch.ts for what it cannot do behind two NATs)
    services.dcutr = dcutr()
    if (transports.includes('quic')) services.holePunch = holePunch({ waitMs: options.holePunchWaitMs })
  }
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
  const listen = options.listen.filter(a => {
    const t = transportOf(a)
    return t == null || transports.includes(t)
  })
  const encrypters = options.encrypters ?? DEFAULT_ENCRYPTERS
  // preferred, so needed at the first connection: loaded before it (see lazy-tls.ts)
  if (encrypters[0] === 'tls') await loadTls()
  return await createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen, announce: options.announce ?? [] },
    transports: [
      ...(transports.includes('tcp') ? [tcp()] : []),
      ...(transports.includes('quic') ? [quic()] : []),
      ...(options.relayTransport === true ? [circuitRelayTransport()] : [])
    ],
    connectionEncrypters: encrypters.map(e => e === 'tls' ? lazyTls() : noise()),
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
    connectionMonitor: { pingTimeout: { minTimeout: CONNECTION_PING_TIMEOUT_MS } },
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL },
    // libp2p's own metrics when this process exports Prometheus metrics (--web, --metrics)
    metrics: metrics().libp2p?.({ relayServer: options.relayServer != null }),
    services: { ...services, ...options.services } as any
  }) as FileShareNode<S>
}
