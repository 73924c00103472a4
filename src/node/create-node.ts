/**
 * The libp2p node factory shared by the master, sharing peers and one-shot clients:
 * TCP + noise + yamux + identify, and circuit relay v2 (server on the master, transport on
 * peers). Connection limits are sized for a swarm (the libp2p defaults turn away more
 * than 5 inbound connections per second from one host, and NATed peers share one IP).
 */
import './polyfill.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { FaultTolerance, type PrivateKey, type ConnectionGater, type PeerId, type Connection } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { MAX_INBOUND_STREAMS } from '../protocol/limits.js'

export interface RelayServerConfig {
  maxReservations: number
  /** bytes per relayed connection (both directions), 0 = unlimited */
  dataLimit: number
  /** milliseconds per relayed connection, 0 = unlimited */
  durationLimit: number
  /** seconds a reservation lasts before the peer must refresh it */
  reservationTtl: number
}

export interface NodeOptions {
  privateKey?: PrivateKey
  listen: string[]
  announce?: string[]
  /** run a circuit relay v2 server (the master) */
  relayServer?: RelayServerConfig
  /** dial and listen through circuit relays (sharing peers, clients) */
  relayTransport?: boolean
  maxConnections?: number
  connectionGater?: ConnectionGater
}

export interface NodeServices {
  identify: Identify
  identifyPush: IdentifyPush
  relay?: CircuitRelayService
  [key: string]: unknown
}

export type FileShareNode = Libp2p<NodeServices>

export async function createNode (options: NodeOptions): Promise<FileShareNode> {
  // identify push tells connected peers (the master) when our addresses change, e.g. a
  // relay reservation added a /p2p-circuit address
  const services: Record<string, any> = { identify: identify(), identifyPush: identifyPush() }
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
    // streams a peer opens before this side has finished its part of the connection upgrade
    // are held as "early streams"; past maxEarlyStreams (default 10) the whole connection is
    // reset. A client that sends a burst of requests on a fresh connection (identify plus ten
    // lookups) crossed that on a busy master: allow one protocol's MAX_INBOUND_STREAMS twice
    streamMuxers: [yamux({ maxEarlyStreams: 2 * MAX_INBOUND_STREAMS })],
    connectionGater: {
      // loopback and private addresses are normal here: tests, LANs and NAT labs use them
      denyDialMultiaddr: () => false,
      ...options.connectionGater
    },
    connectionManager: {
      maxConnections,
      inboundConnectionThreshold: Math.max(100, maxConnections),
      maxIncomingPendingConnections: Math.max(64, Math.ceil(maxConnections / 4))
    },
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL },
    services: services as any
  }) as FileShareNode
}

export type PathKind = 'direct' | 'relayed'

/** 'direct' when an open connection to `peer` does not go through a relay, else 'relayed'. */
export function connectionPath (node: FileShareNode, peer: PeerId): PathKind {
  return node.getConnections(peer).some(c => c.status === 'open' && pathOf(c) === 'direct') ? 'direct' : 'relayed'
}

/** Whether `connection` goes through a relay. */
export function pathOf (connection: Connection): PathKind {
  return isRelayed(connection.remoteAddr.toString()) ? 'relayed' : 'direct'
}

export function isRelayed (addr: string): boolean {
  return addr.includes('/p2p-circuit')
}

/** `/ip4|ip6/<host>/tcp/<port>` and nothing else: an address a dial-back may try. */
export function isPlainTcp (addr: Multiaddr): boolean {
  const parts = addr.getComponents()
  return parts.length === 2 && (parts[0].name === 'ip4' || parts[0].name === 'ip6') && parts[1].name === 'tcp'
}

/** `addr` without a trailing `/p2p/<PeerId>`. */
export function withoutPeerId (addr: Multiaddr): Multiaddr {
  return multiaddr(addr.toString().replace(/\/p2p\/[^/]+$/, ''))
}

/** `addr` ending in `/p2p/<peer>` (added unless it is there already). */
export function withPeerId (addr: Multiaddr, peer: PeerId): Multiaddr {
  const last = addr.getComponents().at(-1)
  if (last?.name === 'p2p' && last.value === peer.toString()) return addr
  return addr.encapsulate(`/p2p/${peer.toString()}`)
}
