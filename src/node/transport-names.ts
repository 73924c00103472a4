/**
 * Transport and encrypter names (config `transports`/`encrypters`, `--transport`): no
 * package imports, so the CLI can check them before it loads libp2p.
 */
export type TransportName = 'tcp' | 'quic'
export const TRANSPORTS: readonly TransportName[] = ['tcp', 'quic']

export type EncrypterName = 'tls' | 'noise'
/**
 * Preference order of the TCP connection encrypters (the dialer's order decides). Noise first:
 * end to end TLS was often but not always faster, and TLS first would make every dialling
 * process load @libp2p/tls (node/lazy-tls.ts), which only a large download wins back
 * (BENCHMARKS.md "Transports side by side").
 */
export const DEFAULT_ENCRYPTERS: readonly EncrypterName[] = ['noise', 'tls']

/** Checks a list of transport names (config `transports`, `--transport`, comma lists allowed). */
export function parseTransports (names: readonly string[]): TransportName[] {
  const out: TransportName[] = []
  for (const name of names.flatMap(n => n.split(',')).map(n => n.trim().toLowerCase()).filter(n => n !== '')) {
    if (!(TRANSPORTS as readonly string[]).includes(name)) throw new Error(`unknown transport ${JSON.stringify(name)} (tcp, quic)`)
    if (!out.includes(name as TransportName)) out.push(name as TransportName)
  }
  if (out.length === 0) throw new Error('at least one transport is needed (tcp, quic)')
  return out
}
