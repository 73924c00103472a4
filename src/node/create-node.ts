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
import { identify, identifyPush, type Identify } from '@libp2p/identify'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { FaultTolerance, type PrivateKey, type ConnectionGater, type PeerId } from '@libp2p/interface'

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
    streamMuxers: [yamux()],
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

/** 'direct' when an open connection to `peer` does not go through a relay, else 'relayed'. */
export function connectionPath (node: FileShareNode, peer: PeerId): 'direct' | 'relayed' {
  const open = node.getConnections(peer).filter(c => c.status === 'open')
  return open.some(c => !isRelayed(c.remoteAddr.toString())) ? 'direct' : 'relayed'
}

export function isRelayed (addr: string): boolean {
  return addr.includes('/p2p-circuit')
}
