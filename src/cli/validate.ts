/**
 * Values from flags and config keys, checked at the edge: each failure is a USAGE error of
 * one line that names the option (or config key) and what it expects.
 */
import { statSync } from 'node:fs'
import { FileShareError } from '../errors.js'
import { parseTransports, type TransportName } from '../node/transport-names.js'

/** `label` is how the user wrote it: `--listen`, `config key "listen"`. */
function bad (label: string, value: string, expected: string): FileShareError {
  return new FileShareError('USAGE', `${label} ${JSON.stringify(value)}: ${expected}`)
}

/** A whole number in [min, max] (undefined when not given). */
export function wholeNumber (label: string, text: string | undefined, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text == null) return undefined
  const n = Number(text)
  if (text.trim() === '' || !Number.isInteger(n) || n < min) {
    throw bad(label, text, `expected a whole number${max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : ` of at least ${min}`}`)
  }
  if (n > max) throw bad(label, text, `at most ${max}`)
  return n
}

const RATE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3 }

/** A rate in bytes per second: `500K`, `2M`, `1.5MiB`, `300kB/s`, `1048576`; 0 = unlimited (returns undefined). */
export function rate (label: string, text: string | undefined): number | undefined {
  if (text == null) return undefined
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*?)(?:\/s)?\s*$/i.exec(text)
  const unit = m?.[2].toLowerCase() ?? ''
  if (m == null || !Object.hasOwn(RATE_UNITS, unit)) throw bad(label, text, 'expected bytes per second such as 500K, 2M or 1.5MiB (0 = unlimited)')
  const bytes = Math.round(Number(m[1]) * RATE_UNITS[unit])
  return bytes === 0 ? undefined : bytes
}

export type PeerIdRule = 'required' | 'optional' | 'forbidden'

const EXAMPLE: Record<PeerIdRule, string> = {
  required: '/ip4/HOST/tcp/PORT/p2p/12D3Koo…',
  optional: '/ip4/HOST/tcp/PORT[/p2p/12D3Koo…]',
  forbidden: '/ip4/HOST/tcp/PORT'
}

/** A multiaddr (loads @multiformats/multiaddr on first use: not on the --help path). */
export async function checkMultiaddr (label: string, text: string, peerId: PeerIdRule): Promise<void> {
  const { multiaddr } = await import('@multiformats/multiaddr')
  const hostPort = /^\[?([0-9a-f.:]+?)\]?:(\d+)$/i.exec(text)
  if (hostPort != null) {
    const v6 = hostPort[1].includes(':')
    throw bad(label, text, `a multiaddr starts with "/", e.g. /${v6 ? 'ip6' : 'ip4'}/${hostPort[1]}/tcp/${hostPort[2]}${peerId === 'required' ? '/p2p/<PeerId>' : ''}`)
  }
  if (!text.startsWith('/')) throw bad(label, text, `expected a multiaddr such as ${EXAMPLE[peerId]}`)
  // the PeerId first: multiaddr's own message for a bad one names a multibase decoder
  const p2p = /\/(?:p2p|ipfs)\/([^/]*)/.exec(text)
  if (p2p != null) {
    if (peerId === 'forbidden') throw bad(label, text, `expected an address of this machine without /p2p/, such as ${EXAMPLE.forbidden}`)
    const { peerIdFromString } = await import('@libp2p/peer-id')
    try {
      peerIdFromString(p2p[1])
    } catch {
      throw bad(label, text, `${JSON.stringify(p2p[1])} is not a PeerId (expected /p2p/12D3Koo… or /p2p/Qm…)`)
    }
  }
  let ma
  try {
    ma = multiaddr(text)
  } catch (err: any) {
    const reason = String(err?.message ?? err).split('\n')[0]
    const port = /\/(?:tcp|udp)\/(\d+)/.exec(text)
    if (port != null && Number(port[1]) > 65535) throw bad(label, text, `port ${port[1]} is out of range (0 to 65535)`)
    throw bad(label, text, `not a valid multiaddr (${reason}); expected e.g. ${EXAMPLE[peerId]}`)
  }
  const hasPeer = ma.getComponents().some(c => c.name === 'p2p')
  if (peerId === 'required' && !hasPeer) throw bad(label, text, `must end with /p2p/<PeerId>, e.g. ${EXAMPLE.required}`)
}

export async function checkMultiaddrs (label: string, list: readonly string[], peerId: PeerIdRule): Promise<void> {
  for (const text of list) await checkMultiaddr(label, text, peerId)
}

/** `--out DIR`: a folder, or nothing yet (created); a file there is a usage error. */
export function checkOutDir (label: string, dir: string | undefined): void {
  if (dir == null) return
  let st
  try {
    st = statSync(dir)
  } catch {
    return
  }
  if (!st.isDirectory()) throw bad(label, dir, 'is a file; expected a folder (created when missing)')
}

/** The transports from `--transport` (repeatable, comma lists) or the config key "transports". */
export function transports (flag: string[] | undefined, config: string[]): TransportName[] {
  const label = flag != null ? '--transport' : 'config key "transports"'
  const given = flag ?? config
  try {
    return parseTransports(given)
  } catch (err: any) {
    throw bad(label, given.join(','), `${err?.message ?? err}`)
  }
}

/** The config key "encrypters": a non-empty list of "tls" and "noise". */
export function encrypters (config: string[]): Array<'tls' | 'noise'> {
  if (config.length === 0 || !config.every(e => e === 'tls' || e === 'noise')) throw bad('config key "encrypters"', config.join(','), 'expected a list of "tls" and "noise"')
  return [...new Set(config)] as Array<'tls' | 'noise'>
}
