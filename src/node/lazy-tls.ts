/**
 * `@libp2p/tls`, loaded on the first connection that negotiates it. Importing it costs a
 * process ≈ 0.4–1 CPU-s (its X.509/ASN.1 stack is hundreds of CommonJS modules), more than
 * the rest of libp2p together; noise is preferred (DEFAULT_ENCRYPTERS), so most processes
 * never need it and should not pay for it at every start. A node that prefers TLS loads it
 * before its first handshake (`loadTls`): on a busy machine the load inside a handshake can
 * outlast the handshake's timeout.
 */
import { serviceCapabilities, type ConnectionEncrypter } from '@libp2p/interface'
import type { TLSComponents } from '@libp2p/tls'

/** The protocol id of @libp2p/tls (checked against the loaded module). */
const TLS_PROTOCOL = '/tls/1.0.0'

let loading: Promise<typeof import('@libp2p/tls')> | undefined

/** Loads @libp2p/tls (once per process). */
export async function loadTls (): Promise<typeof import('@libp2p/tls')> {
  loading ??= import('@libp2p/tls')
  return await loading
}

export function lazyTls (): (components: TLSComponents) => ConnectionEncrypter {
  return (components) => {
    let real: ConnectionEncrypter | undefined
    const load = async (): Promise<ConnectionEncrypter> => {
      if (real != null) return real
      const { tls } = await loadTls()
      real ??= tls()(components)
      if (real.protocol !== TLS_PROTOCOL) throw new Error(`@libp2p/tls speaks ${real.protocol}, expected ${TLS_PROTOCOL}`)
      return real
    }
    return {
      protocol: TLS_PROTOCOL,
      [Symbol.toStringTag]: '@libp2p/tls',
      [serviceCapabilities]: ['@libp2p/connection-encryption'],
      secureInbound: async (connection, options) => await (await load()).secureInbound(connection, options),
      secureOutbound: async (connection, options) => await (await load()).secureOutbound(connection, options)
    }
  }
}
