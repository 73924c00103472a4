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
import { RegisterServer as RegisterServerClass, type RegisterServerInit } from './server.js'
import type { Startable } from '@libp2p/interface'
import type { ServerComponents } from '../components.js'
import type { RegisterRequest, RegisterResponse } from './pb/register.js'

export { PROTOCOL_REGISTER, REGISTER_BATCH, MAX_REGISTER_FRAME } from './constants.js'
export { RegisterClient, type SharedFile } from './client.js'
export type { RegisterServerInit, RegisterStore, RegisteredFile } from './server.js'

/** The master's register service (started and stopped with the node). */
export interface RegisterServer extends Startable {
  readonly protocol: string
  /** applies one request of `peer` (the authenticated remote PeerId) */
  apply: (peer: string, request: RegisterRequest) => RegisterResponse
}

export function registerServer (init: RegisterServerInit): (components: ServerComponents) => RegisterServer {
  return (components) => new RegisterServerClass(components, init)
}
