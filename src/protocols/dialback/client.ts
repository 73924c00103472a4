/**
 * /fileshare/dialback/1.0.0, the peer's side (the protocol is described in index.ts).
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { DialBackRequest, DialBackResponse } from './pb/dialback.js'
import { PROTOCOL_DIALBACK, MAX_DIALBACK_ADDRS } from './constants.js'
import { MAX_CONTROL_FRAME } from '../constants.js'
import type { MasterLink } from '../master-link.js'
import { parseAddrs } from '../../node/addresses.js'
import { FileShareError } from '../../errors.js'

export interface DialBackResult {
  /** the addresses the master reached on a new connection */
  reachable: Multiaddr[]
  /** the address the master sees our request come from */
  observed: Multiaddr | null
}

export class DialBackClient {
  constructor (private readonly link: MasterLink) {}

  /** Asks the master to dial `addrs` back on new connections: the ones it reached, and how it sees us. */
  async dialBack (addrs: Multiaddr[]): Promise<DialBackResult> {
    const res = await this.link.call<DialBackRequest, DialBackResponse>(PROTOCOL_DIALBACK, { addrs: addrs.slice(0, MAX_DIALBACK_ADDRS).map(a => a.bytes) },
      DialBackRequest, DialBackResponse, { maxResponseBytes: MAX_CONTROL_FRAME, decodeLimits: { reachable: MAX_DIALBACK_ADDRS } })
    if (res.status !== DialBackResponse.Status.OK) {
      throw new FileShareError(res.status === DialBackResponse.Status.RATE_LIMITED ? 'RATE_LIMITED' : 'PROTOCOL', `master refused the dial-back: ${res.status} ${res.message}`)
    }
    return {
      reachable: parseAddrs(res.reachable),
      observed: res.observed.length > 0 ? parseAddrs([res.observed])[0] ?? null : null
    }
  }
}
