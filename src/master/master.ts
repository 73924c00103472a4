/**
 * The SwarmMaster: a libp2p node with a persistent key, the index store, the register and
 * lookup services, liveness tracking, and the circuit relay v2 server for NATed peers.
 */
import { resolve } from 'node:path'
import { logger } from '@libp2p/logger'
import { createNode, type FileShareNode, type RelayServerConfig, type TransportName, type EncrypterName } from '../node/create-node.js'
import { loadOrCreateKey } from '../node/key-store.js'
import { IndexStore } from './index-store.js'
import { Liveness } from './liveness.js'
import { peerRateLimiter } from './rate-limiter.js'
import { relayGate, type RelayGateTarget } from './relay-gate.js'
import { registerServer } from '../protocols/register/index.js'
import { lookupServer } from '../protocols/lookup/index.js'
import { dialBackServer } from '../protocols/dialback/index.js'
import { loadConfig, type MasterConfig } from '../config.js'
import { PROVIDER_GRACE_MS, MAX_FILES_PER_PEER } from './tuning.js'

const log = logger('fileshare:master')

export interface MasterOptions {
  /** multiaddrs to listen on (default: config/master.json) */
  listen?: string[]
  /** multiaddrs to announce instead of the listen addresses */
  announce?: string[]
  /** 'tcp' and/or 'quic' (default: config, both) */
  transports?: TransportName[]
  /** TCP encrypters in order of preference (default: config, else noise then tls) */
  encrypters?: EncrypterName[]
  /** folder for the key and the index (default: config/master.json) */
  data?: string
  /** a config file replacing config/master.json */
  config?: string
  relay?: Partial<RelayServerConfig>
  providerGraceMs?: number
  maxFilesPerPeer?: number
  maxConnections?: number
  /** register/lookup requests must arrive and be answered within this time (default 15 s) */
  requestTimeoutMs?: number
  /** per-peer rate limit on each master protocol (token bucket) */
  requestsPerSecond?: number
  requestBurst?: number
  /** dial-back checks served per minute to one remote IP, whatever the keys (default 60) */
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
  const config = loadConfig<MasterConfig>('master', options.config)
  const dataDir = resolve(options.data ?? config.data)
  const privateKey = await loadOrCreateKey(dataDir)
  const index = new IndexStore(dataDir)
  const requestTimeoutMs = options.requestTimeoutMs ?? config.requestTimeoutMs
  const requestsPerSecond = options.requestsPerSecond ?? config.requestsPerSecond
  const requestBurst = options.requestBurst ?? config.requestBurst
  // the protocol servers are libp2p services: started and stopped with the node
  let liveness: Liveness | null = null
  const services = {
    register: registerServer({
      store: index,
      limiter: peerRateLimiter(requestsPerSecond, requestBurst),
      maxFilesPerPeer: options.maxFilesPerPeer ?? config.maxFilesPerPeer ?? MAX_FILES_PER_PEER,
      requestTimeoutMs,
      onRegistered: peer => { liveness?.connected(peer) }
    }),
    lookup: lookupServer({ store: index, limiter: peerRateLimiter(requestsPerSecond, requestBurst), requestTimeoutMs }),
    dialBack: dialBackServer({ checksPerIpPerMinute: options.dialBackPerIpPerMinute ?? config.dialBackPerIpPerMinute })
  }
  let node: FileShareNode
  let gateTarget: RelayGateTarget | null = null
  try {
    node = await createNode({
      privateKey,
      listen: options.listen ?? config.listen,
      announce: options.announce ?? config.announce,
      transports: options.transports ?? config.transports,
      encrypters: options.encrypters ?? config.encrypters,
      relayServer: { ...config.relay, ...options.relay },
      maxConnections: options.maxConnections ?? config.maxConnections,
      publicListenAddrs: true,
      connectionGater: relayGate(() => gateTarget),
      services
    })
    gateTarget = { node, index }
  } catch (err) {
    index.close()
    throw err
  }
  const tracker = new Liveness(node, index, options.providerGraceMs ?? config.providerGraceMs ?? PROVIDER_GRACE_MS)
  liveness = tracker
  tracker.start()
  log('master %s listening on %s', node.peerId.toString(), node.getMultiaddrs().map(String).join(', '))

  let stopped = false
  return {
    node,
    peerId: node.peerId.toString(),
    addrs: () => node.getMultiaddrs().map(String),
    index,
    liveness: tracker,
    async stop () {
      if (stopped) return
      stopped = true
      tracker.stop()
      await node.stop()
      index.close()
    }
  }
}
