/**
 * Connection and address helpers: which path (direct or through a relay) a connection
 * takes, and the small multiaddr rewrites the protocols and the dialler need.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

export type PathKind = 'direct' | 'relayed'

/** 'direct' when an open connection to `peer` does not go through a relay, else 'relayed'. */
export function connectionPath (node: { getConnections: (peer?: PeerId) => Connection[] }, peer: PeerId): PathKind {
  return node.getConnections(peer).some(c => c.status === 'open' && pathOf(c) === 'direct') ? 'direct' : 'relayed'
}

/** Whether `connection` goes through a relay. */
export function pathOf (connection: Connection): PathKind {
  return isRelayed(connection.remoteAddr.toString()) ? 'relayed' : 'direct'
}

export function isRelayed (addr: string): boolean {
  return addr.includes('/p2p-circuit')
}

/** The IP (v4 or v6) an address starts from: for a relayed address, the relay's. */
export function ipOf (addr: Multiaddr): string | undefined {
  return addr.getComponents().find(c => c.name === 'ip4' || c.name === 'ip6')?.value
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

/** The addresses in `list` that parse (a remote peer's garbage is skipped, not fatal). */
export function parseAddrs (list: Uint8Array[]): Multiaddr[] {
  const addrs: Multiaddr[] = []
  for (const bytes of list) {
    try { addrs.push(multiaddr(bytes)) } catch {}
  }
  return addrs
}

/** `/ip4|ip6/<host>/tcp/<port>` or `/ip4|ip6/<host>/udp/<port>/quic-v1`: an address a dial-back may try. */
export function isPlainDirect (addr: Multiaddr): boolean {
  const parts = addr.getComponents()
  if (isPlainTcp(addr)) return true
  return parts.length === 3 && (parts[0].name === 'ip4' || parts[0].name === 'ip6') && parts[1].name === 'udp' && parts[2].name === 'quic-v1'
}

import { TRANSPORTS, parseTransports, type TransportName } from './transport-names.js'
export { TRANSPORTS, parseTransports, type TransportName }

/** Which transport `addr` uses ('tcp', 'quic'), or null (relay addresses and others). */
export function transportOf (addr: string | Multiaddr): TransportName | null {
  const text = addr.toString()
  if (isRelayed(text)) return null
  if (/\/udp\/\d+\/quic-v1(\/|$)/.test(text)) return 'quic'
  if (/\/tcp\/\d+(\/|$)/.test(text)) return 'tcp'
  return null
}

/** The addresses of `listen` that one of `transports` listens on (relay and other addresses stay). */
export function listenFor (listen: string[], transports: readonly TransportName[]): string[] {
  return listen.filter(a => {
    const t = transportOf(a)
    return t == null || transports.includes(t)
  })
}
