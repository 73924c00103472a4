/**
 * `@libp2p/tls`, loaded on the first connection that negotiates it. Importing it costs a
 * process ≈ 0.4–1 CPU-s (its X.509/ASN.1 stack is hundreds of CommonJS modules), more than
 * the rest of libp2p together; noise is preferred (DEFAULT_ENCRYPTERS), so most processes
 * never need it and should not pay for it at every start.
 */
import { serviceCapabilities, type ConnectionEncrypter } from '@libp2p/interface'
import type { TLSComponents } from '@libp2p/tls'

/** The protocol id of @libp2p/tls (checked against the loaded module). */
const TLS_PROTOCOL = '/tls/1.0.0'

export function lazyTls (): (components: TLSComponents) => ConnectionEncrypter {
  return (components) => {
    let loading: Promise<ConnectionEncrypter> | undefined
    const load = async (): Promise<ConnectionEncrypter> => {
      loading ??= import('@libp2p/tls').then(({ tls }) => {
        const real = tls()(components)
        if (real.protocol !== TLS_PROTOCOL) throw new Error(`@libp2p/tls speaks ${real.protocol}, expected ${TLS_PROTOCOL}`)
        return real
      })
      return await loading
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
