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
import { RegisterService } from './register-service.js'
import { LookupService } from './lookup-service.js'
import { DialBackService } from './dialback-service.js'
import { relayGate, type RelayGateTarget } from './relay-gate.js'
import { loadConfig, type MasterConfig } from '../config.js'
import { PROVIDER_GRACE_MS } from '../protocol/limits.js'

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
      connectionGater: relayGate(() => gateTarget)
    })
    gateTarget = { node, index }
  } catch (err) {
    index.close()
    throw err
  }
  const liveness = new Liveness(node, index, options.providerGraceMs ?? config.providerGraceMs ?? PROVIDER_GRACE_MS)
  const limits = {
    requestTimeoutMs: options.requestTimeoutMs ?? config.requestTimeoutMs,
    requestsPerSecond: options.requestsPerSecond ?? config.requestsPerSecond,
    requestBurst: options.requestBurst ?? config.requestBurst
  }
  const register = new RegisterService(node, index, liveness, { ...limits, maxFilesPerPeer: options.maxFilesPerPeer ?? config.maxFilesPerPeer })
  const lookup = new LookupService(node, index, limits)
  const dialBack = new DialBackService(node)
  liveness.start()
  await register.start()
  await lookup.start()
  await dialBack.start()
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
      await register.stop().catch(() => {})
      await lookup.stop().catch(() => {})
      await dialBack.stop().catch(() => {})
      await node.stop()
      index.close()
    }
  }
}
