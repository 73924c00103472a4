/**
 * A listen address that cannot be bound is an error, TCP and QUIC alike. The node runs with
 * `FaultTolerance.NO_FATAL` (a failed relay reservation must not stop it), so libp2p
 * swallows listen failures; after the start we compare what listens with what was asked
 * for and name the first address that is missing, with the reason (probed with a plain
 * Node TCP server or UDP socket on the same host and port).
 */
import { createServer } from 'node:net'
import { createSocket } from 'node:dgram'
import { multiaddr } from '@multiformats/multiaddr'
import { FileShareError } from '../errors.js'
import type { FileShareNode } from './create-node.js'
import { isRelayed } from './addresses.js'

/** Throws a 'LISTEN' FileShareError when one of the (non-relay) `requested` addresses is not listened on. */
export async function assertListening (node: FileShareNode, requested: string[]): Promise<void> {
  const listening = ((node as any).components.transportManager.getAddrs() as Array<{ toString: () => string }>).map(a => endpoint(a.toString()))
  for (const addr of requested) {
    if (isRelayed(addr)) continue
    const want = endpoint(addr)
    if (want == null) continue
    const bound = listening.some(have => have != null && have.family === want.family && have.transport === want.transport && (want.port === 0 || have.port === want.port) &&
      (isWildcard(want.host) || have.host === want.host))
    if (!bound) {
      throw new FileShareError('LISTEN', `cannot listen on ${addr}: ${await whyNot(want)}`, { details: { addr } })
    }
  }
}

interface Endpoint { transport: 'tcp' | 'quic', family: 'ip4' | 'ip6', host: string, port: number }

/** `/ip4|ip6/HOST/tcp/PORT` or `/ip4|ip6/HOST/udp/PORT/quic-v1` (anything else: null) */
function endpoint (addr: string): Endpoint | null {
  try {
    const parts = multiaddr(addr).getComponents()
    if (parts.length < 2 || (parts[0].name !== 'ip4' && parts[0].name !== 'ip6')) return null
    const transport = parts[1].name === 'tcp' ? 'tcp' : parts[1].name === 'udp' && parts[2]?.name === 'quic-v1' ? 'quic' : null
    if (transport == null) return null
    return { transport, family: parts[0].name, host: parts[0].value ?? '', port: Number(parts[1].value) }
  } catch {
    return null
  }
}

function isWildcard (host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

/** The reason a plain TCP server (UDP socket for QUIC) cannot bind the same endpoint (in words). */
async function whyNot (want: Endpoint): Promise<string> {
  const err = await new Promise<NodeJS.ErrnoException | null>(resolve => {
    if (want.transport === 'quic') {
      const socket = createSocket({ type: want.family === 'ip6' ? 'udp6' : 'udp4' })
      socket.once('error', e => { socket.close(); resolve(e as NodeJS.ErrnoException) })
      socket.bind({ address: want.host, port: want.port, exclusive: true }, () => { socket.close(() => { resolve(null) }) })
      return
    }
    const server = createServer()
    server.once('error', e => { resolve(e as NodeJS.ErrnoException) })
    server.listen({ host: want.host, port: want.port, exclusive: true }, () => { server.close(() => { resolve(null) }) })
  })
  const port = want.transport === 'quic' ? `UDP port ${want.port}` : `port ${want.port}`
  switch (err?.code) {
    case 'EADDRINUSE': return `${port} is already in use`
    case 'EADDRNOTAVAIL': return `address ${want.host} is not on this machine`
    case 'EACCES': return `no permission to use ${port}`
    case undefined: return 'the address could not be bound'
    default: return err?.message ?? 'the address could not be bound'
  }
}
