/**
 * A listen address that cannot be bound is an error. The node runs with
 * `FaultTolerance.NO_FATAL` (a failed relay reservation must not stop it), so libp2p
 * swallows listen failures; after the start we compare what listens with what was asked
 * for and name the first address that is missing, with the reason (probed with a plain
 * Node server on the same host and port).
 */
import { createServer } from 'node:net'
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
    const bound = listening.some(have => have != null && have.family === want.family && (want.port === 0 || have.port === want.port) &&
      (isWildcard(want.host) || have.host === want.host))
    if (!bound) {
      throw new FileShareError('LISTEN', `cannot listen on ${addr}: ${await whyNot(want)}`, { details: { addr } })
    }
  }
}

interface Endpoint { family: 'ip4' | 'ip6', host: string, port: number }

function endpoint (addr: string): Endpoint | null {
  try {
    const parts = multiaddr(addr).getComponents()
    if (parts.length < 2 || (parts[0].name !== 'ip4' && parts[0].name !== 'ip6') || parts[1].name !== 'tcp') return null
    return { family: parts[0].name, host: parts[0].value ?? '', port: Number(parts[1].value) }
  } catch {
    return null
  }
}

function isWildcard (host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

/** The reason a plain server cannot bind the same endpoint (in words). */
async function whyNot (want: Endpoint): Promise<string> {
  const err = await new Promise<NodeJS.ErrnoException | null>(resolve => {
    const server = createServer()
    server.once('error', e => { resolve(e as NodeJS.ErrnoException) })
    server.listen({ host: want.host, port: want.port, exclusive: true }, () => { server.close(() => { resolve(null) }) })
  })
  switch (err?.code) {
    case 'EADDRINUSE': return `port ${want.port} is already in use`
    case 'EADDRNOTAVAIL': return `address ${want.host} is not on this machine`
    case 'EACCES': return `no permission to use port ${want.port}`
    case undefined: return 'the address could not be bound'
    default: return err?.message ?? 'the address could not be bound'
  }
}
