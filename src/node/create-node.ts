/**
 * The libp2p node factory shared by the master, sharing peers and one-shot clients:
 * TCP (+ TLS or noise, + yamux) and QUIC side by side, identify, and circuit relay v2
 * (server on the master, transport and DCUtR on peers). Connection limits are sized for a
 * swarm (the libp2p defaults turn away more than 5 inbound connections per second from
 * one host, and NATed peers share one IP).
 *
 * Either transport works alone (`transports`); listen addresses of a transport that is
 * off are dropped. TCP carries bulk data best (BENCHMARKS.md: TCP+TLS ≈ TCP+noise ≫ QUIC
 * in this stack); QUIC is there because UDP is what a NAT lets two peers punch through.
 */
import './polyfill.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { quic } from '@chainsafe/libp2p-quic'
import { noise } from '@chainsafe/libp2p-noise'
import { tls } from '@libp2p/tls'
import { dcutr } from '@libp2p/dcutr'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { FaultTolerance, type PrivateKey, type ConnectionGater, type PeerId, type Connection } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { holePunch, type HolePunch } from './hole-punch.js'

export interface RelayServerConfig {
  maxReservations: number
  /** bytes per relayed connection (both directions), 0 = unlimited */
  dataLimit: number
  /** milliseconds per relayed connection, 0 = unlimited */
  durationLimit: number
  /** seconds a reservation lasts before the peer must refresh it */
  reservationTtl: number
}

export type TransportName = 'tcp' | 'quic'
export const TRANSPORTS: readonly TransportName[] = ['tcp', 'quic']
export type EncrypterName = 'tls' | 'noise'
/** Preference order of the TCP connection encrypters (the dialer's order decides; BENCHMARKS.md "Transports side by side"). */
export const DEFAULT_ENCRYPTERS: readonly EncrypterName[] = ['noise', 'tls']

export interface NodeOptions {
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
  connectionGater?: ConnectionGater
  /**
   * take every listen address for a verified public address (the master: public by
   * design). libp2p announces a public IP only once something verified it (AutoNAT, or
   * here); private ones are announced as they are.
   */
  publicListenAddrs?: boolean
  /** see HolePunchInit.waitMs */
  holePunchWaitMs?: number
}

export interface NodeServices {
  identify: Identify
  identifyPush: IdentifyPush
  relay?: CircuitRelayService
  /** QUIC hole punching over relayed connections (peers with QUIC and the relay transport) */
  holePunch?: HolePunch
  [key: string]: unknown
}

export type FileShareNode = Libp2p<NodeServices>

/** Which transport `addr` uses ('tcp', 'quic'), or null (relay addresses and others). */
export function transportOf (addr: string | Multiaddr): TransportName | null {
  const text = addr.toString()
  if (isRelayed(text)) return null
  if (/\/udp\/\d+\/quic-v1(\/|$)/.test(text)) return 'quic'
  if (/\/tcp\/\d+(\/|$)/.test(text)) return 'tcp'
  return null
}

/** Checks a list of transport names (config `transports`, `--transport`). */
export function parseTransports (names: readonly string[]): TransportName[] {
  const out: TransportName[] = []
  for (const name of names.flatMap(n => n.split(',')).map(n => n.trim().toLowerCase()).filter(n => n !== '')) {
    if (!(TRANSPORTS as readonly string[]).includes(name)) throw new Error(`unknown transport ${JSON.stringify(name)} (tcp, quic)`)
    if (!out.includes(name as TransportName)) out.push(name as TransportName)
  }
  if (out.length === 0) throw new Error('at least one transport is needed (tcp, quic)')
  return out
}

export async function createNode (options: NodeOptions): Promise<FileShareNode> {
  const transports = options.transports ?? TRANSPORTS
  // identify push tells connected peers (the master) when our addresses change, e.g. a
  // relay reservation added a /p2p-circuit address
  const services: Record<string, any> = { identify: identify(), identifyPush: identifyPush() }
  // DCUtR: a relayed connection is upgraded to a direct one where the other side has a
  // public address (see reachability.ts and hole-punch.ts for what it cannot do behind two NATs)
  if (options.relayTransport === true) services.dcutr = dcutr()
  if (options.relayTransport === true && transports.includes('quic')) services.holePunch = holePunch({ waitMs: options.holePunchWaitMs })
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
  const node = await createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen, announce: options.announce ?? [] },
    transports: [
      ...(transports.includes('tcp') ? [tcp()] : []),
      ...(transports.includes('quic') ? [quic()] : []),
      ...(options.relayTransport === true ? [circuitRelayTransport()] : [])
    ],
    connectionEncrypters: encrypters.map(e => e === 'tls' ? tls() : noise()),
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
  if (options.publicListenAddrs === true) {
    // listeners may still be starting: confirm what is there and whatever comes later
    confirmAddrs(node, (node as any).components.transportManager.getAddrs())
    node.addEventListener('transport:listening', evt => { confirmAddrs(node, evt.detail.getAddrs()) })
  }
  return node
}

/** A year: confirmed addresses are not checked again (libp2p re-checks only through AutoNAT). */
const CONFIRMED_TTL_MS = 365 * 24 * 3600 * 1000

/** Marks `addrs` (our listen addresses) as verified, so that libp2p announces them even when public. */
export function confirmAddrs (node: FileShareNode, addrs: Multiaddr[]): void {
  const addressManager = (node as any).components.addressManager
  for (const addr of addrs) addressManager.confirmObservedAddr(withoutPeerId(addr), { type: 'transport', ttl: CONFIRMED_TTL_MS })
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

/** `/ip4|ip6/<host>/tcp/<port>` or `/ip4|ip6/<host>/udp/<port>/quic-v1`: an address a dial-back may try. */
export function isPlainDirect (addr: Multiaddr): boolean {
  const parts = addr.getComponents()
  if (isPlainTcp(addr)) return true
  return parts.length === 3 && (parts[0].name === 'ip4' || parts[0].name === 'ip6') && parts[1].name === 'udp' && parts[2].name === 'quic-v1'
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
