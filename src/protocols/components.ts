/**
 * What a FileShare protocol server needs from the node, as small interfaces: libp2p passes
 * its components (a superset) when the server is registered through
 * `createLibp2p({ services })`; a test passes stand-ins.
 */
import type { ComponentLogger, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'

export interface ProtocolRegistrar {
  handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
  unhandle: (protocol: string) => Promise<void>
}

export interface ServerComponents {
  registrar: ProtocolRegistrar
  logger: ComponentLogger
}

/** A per-peer request budget; `consume` throws when `key` is over it (RateLimiter of @libp2p/utils fits). */
export interface PeerLimiter {
  consume: (key: string) => unknown
}

/** A per-IP request budget shared by the keys of the IP; `consume` throws when over it (master/fair-limiter.ts). */
export interface IpLimiter {
  consume: (ip: string, peer: string) => unknown
}
