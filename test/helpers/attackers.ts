/**
 * Attackers for test/hostile/: bare libp2p nodes (TCP + noise + yamux + identify, no
 * FileShare behaviour unless a test adds it) that may dial from another loopback address
 * (127.0.0.2, …: Linux routes all of 127/8 to lo), so a per-IP limit can tell an attacker
 * from the real client in a test where everything runs on one machine.
 */
import '../../src/node/polyfill.js'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { FaultTolerance, type PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { MasterClient } from '../../src/peer/master-client.js'
import type { SharedFile } from '../../src/peer/master-client.js'
import { FileShareError } from '../../src/errors.js'

export interface AttackerOptions {
  /** local address the TCP dials come from (default: the kernel's choice, 127.0.0.1) */
  from?: string
  listen?: string[]
  announce?: string[]
  privateKey?: PrivateKey
  /** dial and listen through circuit relays */
  relay?: boolean
  /** connections this node keeps (default 1000) */
  maxConnections?: number
}

export type Attacker = Libp2p<{ identify: unknown }>

export async function attacker (options: AttackerOptions = {}): Promise<Attacker> {
  return await createLibp2p({
    privateKey: options.privateKey,
    addresses: { listen: options.listen ?? [], announce: options.announce ?? [] },
    transports: [
      tcp(options.from != null ? { dialOpts: { localAddress: options.from } as any } : {}),
      ...(options.relay === true ? [circuitRelayTransport()] : [])
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    connectionManager: { maxConnections: options.maxConnections ?? 1000, inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1000 },
    transportManager: { faultTolerance: FaultTolerance.NO_FATAL },
    services: { identify: identify() }
  }) as Attacker
}

/** `count` Ed25519 keys whose PeerIds sort before `than` (as the master's SQL orders them). */
export async function keysSortingBefore (than: string, count: number): Promise<PrivateKey[]> {
  const keys: PrivateKey[] = []
  for (let tries = 0; keys.length < count; tries++) {
    if (tries > count * 1000) throw new Error('no keys sort that low')
    const key = await generateKeyPair('Ed25519')
    if (peerIdFromPrivateKey(key).toString() < than) keys.push(key)
  }
  return keys
}

/** The largest-sorting of `n` fresh keys (an honest peer the Sybil keys can sort before). */
export async function highKey (n = 300): Promise<PrivateKey> {
  let best: PrivateKey | null = null
  for (let i = 0; i < n; i++) {
    const key = await generateKeyPair('Ed25519')
    if (best == null || peerIdFromPrivateKey(key).toString() > peerIdFromPrivateKey(best).toString()) best = key
  }
  return best!
}

/** Registers `files` for `node` with the master at `masterAddr` (one RESET batch). */
export async function registerAs (node: Attacker, masterAddr: string, files: SharedFile[]): Promise<number> {
  const client = new MasterClient(node as any, multiaddr(masterAddr))
  return await patiently(async () => await client.registry.announce(files))
}

/**
 * `act`, tried again (up to `attempts` times) when it fails with NETWORK: on a loaded machine
 * a noise handshake can time out before the request reaches the master.
 */
export async function patiently<T> (act: () => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await act()
    } catch (err) {
      if (!(err instanceof FileShareError && err.code === 'NETWORK') || attempt >= attempts) throw err
      await new Promise(resolve => setTimeout(resolve, 200 * attempt))
    }
  }
}

/** Runs `act` over `items`, `width` at a time. */
export async function inBatches<T, R> (items: T[], width: number, act: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for (let start = 0; start < items.length; start += width) {
    out.push(...await Promise.all(items.slice(start, start + width).map(async (item, k) => await act(item, start + k))))
  }
  return out
}
