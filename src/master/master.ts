/**
 * The SwarmMaster: a libp2p node with a persistent key, the index store, the register and
 * lookup services, liveness tracking, and the circuit relay v2 server for NATed peers.
 *
 * `createMaster` takes plain options; every option left out takes its default from
 * src/defaults.ts (MASTER_DEFAULTS). It reads no config file and no environment. A create
 * that fails stops everything it started and rejects with a FileShareError.
 */
import { resolve } from 'node:path'
import { logger } from '@libp2p/logger'
import { createNode, type FileShareNode, type RelayServerConfig, type EncrypterName } from '../node/create-node.js'
import { listenFor, type TransportName } from '../node/addresses.js'
import { loadOrCreateKey } from '../node/key-store.js'
import { IndexStore } from './index-store.js'
import { Liveness } from './liveness.js'
import { peerRateLimiter } from './rate-limiter.js'
import { relayGate, type RelayGateTarget } from './relay-gate.js'
import { registerServer } from '../protocols/register/index.js'
import { lookupServer } from '../protocols/lookup/index.js'
import { dialBackServer } from '../protocols/dialback/index.js'
import { MASTER_DEFAULTS } from '../defaults.js'
import { lockDataDir, type DataLock } from '../node/data-lock.js'
import { assertListening } from '../node/listen-check.js'
import { toFileShareError } from '../errors.js'

const log = logger('fileshare:master')

export interface MasterOptions {
  /**
   * multiaddrs to listen on; every TCP one must be bound, else the create rejects with 'LISTEN'
   * @default ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/udp/4001/quic-v1']
   */
  listen?: string[]
  /**
   * 'tcp' and/or 'quic'; listen addresses of a transport left out are ignored
   * @default ['tcp', 'quic']
   */
  transports?: TransportName[]
  /**
   * TCP connection encrypters in order of preference
   * @default ['noise', 'tls']
   */
  encrypters?: EncrypterName[]
  /**
   * multiaddrs to announce instead of the listen addresses
   * @default []
   */
  announce?: string[]
  /**
   * folder for the key and the index, locked by this process while the master runs
   * ('LOCKED' when another process holds it); null = a throwaway key and an in-memory index
   * @default '.fileshare/master'
   */
  data?: string | null
  /**
   * circuit relay v2 server limits, key by key
   * @default { maxReservations: 1024, dataLimit: 1 GiB, durationLimit: 1 h, reservationTtl: 7200 s }
   */
  relay?: Partial<RelayServerConfig>
  /**
   * how long a peer's records stay live after its last connection closed, ms
   * @default 10000
   */
  providerGraceMs?: number
  /**
   * files indexed per peer; more → QUOTA_EXCEEDED
   * @default 100000
   */
  maxFilesPerPeer?: number
  /**
   * libp2p connection limit
   * @default 2000
   */
  maxConnections?: number
  /**
   * register/lookup requests must arrive and be answered within this time, ms
   * @default 15000
   */
  requestTimeoutMs?: number
  /**
   * per-peer rate limit on each master protocol (token bucket): refill per second
   * @default 50
   */
  requestsPerSecond?: number
  /**
   * per-peer token bucket size
   * @default 200
   */
  requestBurst?: number
  /**
   * dial-back checks served per minute to one remote IP, whatever the keys
   * @default 60
   */
  dialBackPerIpPerMinute?: number
}

export interface Master {
  readonly node: FileShareNode
  readonly peerId: string
  /** every address the master can be reached at, each ending in /p2p/<PeerId> */
  addrs: () => string[]
  readonly index: IndexStore
  readonly liveness: Liveness
  stop: () => Promise<void>
}

export async function createMaster (options: MasterOptions = {}): Promise<Master> {
  const d = MASTER_DEFAULTS
  const dataDir = options.data === null ? null : resolve(options.data ?? d.data)
  const cleanup: Array<() => Promise<void> | void> = []
  const undo = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await Promise.resolve().then(step).catch(() => {})
  }
  try {
    let lock: DataLock | null = null
    if (dataDir != null) {
      const held = lock = lockDataDir(dataDir)
      cleanup.push(() => { held.release() })
    }
    const privateKey = dataDir != null ? await loadOrCreateKey(dataDir) : undefined
    const index = new IndexStore(dataDir)
    cleanup.push(() => { index.close() })
    const requestTimeoutMs = options.requestTimeoutMs ?? d.requestTimeoutMs
    const requestsPerSecond = options.requestsPerSecond ?? d.requestsPerSecond
    const requestBurst = options.requestBurst ?? d.requestBurst
    // the protocol servers are libp2p services: started and stopped with the node
    let tracker: Liveness | null = null
    const services = {
      register: registerServer({
        store: index,
        limiter: peerRateLimiter(requestsPerSecond, requestBurst),
        maxFilesPerPeer: options.maxFilesPerPeer ?? d.maxFilesPerPeer,
        requestTimeoutMs,
        onRegistered: peer => { tracker?.connected(peer) }
      }),
      lookup: lookupServer({ store: index, limiter: peerRateLimiter(requestsPerSecond, requestBurst), requestTimeoutMs }),
      dialBack: dialBackServer({ checksPerIpPerMinute: options.dialBackPerIpPerMinute ?? d.dialBackPerIpPerMinute })
    }
    let gateTarget: RelayGateTarget | null = null
    const transports = options.transports ?? d.transports
    const listen = listenFor(options.listen ?? d.listen, transports)
    const node = await createNode({
      privateKey,
      listen,
      transports,
      encrypters: options.encrypters ?? d.encrypters,
      // public by design: its listen addresses are announced without a check
      publicListenAddrs: true,
      announce: options.announce ?? d.announce,
      relayServer: { ...d.relay, ...options.relay },
      maxConnections: options.maxConnections ?? d.maxConnections,
      connectionGater: relayGate(() => gateTarget),
      services
    })
    cleanup.push(async () => { await node.stop() })
    await assertListening(node, listen)
    gateTarget = { node, index }
    const liveness = tracker = new Liveness(node, index, options.providerGraceMs ?? d.providerGraceMs)
    liveness.start()
    cleanup.push(() => { liveness.stop() })
    log('master %s listening on %s', node.peerId.toString(), node.getMultiaddrs().map(String).join(', '))

    let stopped = false
    return {
      node,
      peerId: node.peerId.toString(),
      addrs: () => node.getMultiaddrs().map(String),
      index,
      liveness,
      async stop () {
        if (stopped) return
        stopped = true
        liveness.stop()
        await node.stop()
        index.close()
        lock?.release()
      }
    }
  } catch (err) {
    await undo()
    throw toFileShareError(err, 'INTERNAL')
  }
}
