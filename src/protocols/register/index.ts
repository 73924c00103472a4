/**
 * /fileshare/register/1.0.0: a sharing peer tells the master which files it shares.
 *
 * Wire protocol: one stream per request. The peer writes one RegisterRequest (varint
 * length + protobuf, at most MAX_REGISTER_FRAME bytes): RESET (replace everything this
 * peer shares with `files`), ADD (add or update `files`) or REMOVE (drop `paths`), each at
 * most REGISTER_BATCH entries; the master answers one RegisterResponse (OK with the peer's
 * file count, BAD_REQUEST, RATE_LIMITED, QUOTA_EXCEEDED or ERROR) and closes the stream.
 * Records are bound to the connection's authenticated PeerId. A peer that registered is
 * marked live; liveness after that follows its connections (master/liveness.ts).
 *
 * server.ts is the master's half (a libp2p service: `registerServer(init)` in
 * `createLibp2p({ services })`), client.ts the peer's half.
 */
import { RegisterServer as RegisterServerClass } from './server.js'
import type { ServerComponents, PeerLimiter } from '../components.js'

export { PROTOCOL_REGISTER, REGISTER_BATCH, MAX_REGISTER_FRAME } from './constants.js'
export { RegisterClient } from './client.js'

export interface RegisteredFile {
  id: Uint8Array
  path: string
  size: number
}

/** Where the master keeps what peers registered (master/index-store.ts). */
export interface RegisterStore {
  fileCount: (peer: string) => number
  /** replaces (reset) or extends the peer's files; returns its file count */
  addFiles: (peer: string, files: RegisteredFile[], reset: boolean) => number
  removePaths: (peer: string, paths: string[]) => number
  setLive: (peer: string, live: boolean) => void
}

export interface RegisterServerInit {
  store: RegisterStore
  /** per-peer request budget (master/rate-limiter.ts) */
  limiter: PeerLimiter
  /** files one peer may register */
  maxFilesPerPeer: number
  /**
   * a request must arrive and be answered within this time
   *
   * @default REQUEST_TIMEOUT_MS (15 s)
   */
  requestTimeoutMs?: number
  /** called after every accepted request of `peer` (the master's liveness tracking) */
  onRegistered?: (peer: string) => void
}

export interface RegisterServer {
  readonly protocol: string
}

export function registerServer (init: RegisterServerInit): (components: ServerComponents) => RegisterServerClass {
  return (components) => new RegisterServerClass(components, init)
}
