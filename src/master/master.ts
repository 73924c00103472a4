/**
 * The SwarmMaster: a libp2p node with a persistent key, the index store, the register and
 * lookup services, liveness tracking, and the circuit relay v2 server for NATed peers.
 */
import { resolve } from 'node:path'
import { logger } from '@libp2p/logger'
import { createNode, type FileShareNode, type RelayServerConfig } from '../node/create-node.js'
import { loadOrCreateKey } from '../node/key-store.js'
import { IndexStore, isStorageError } from './index-store.js'
import { Liveness } from './liveness.js'
import { peerRateLimiter } from './rate-limiter.js'
import { relayGate, type RelayGateTarget } from './relay-gate.js'
import { ConnectionGuard } from './connection-guard.js'
import { VerifiedAddrs } from './verified-addrs.js'
import { registerServer } from '../protocols/register/index.js'
import { lookupServer } from '../protocols/lookup/index.js'
import { dialBackServer } from '../protocols/dialback/index.js'
import { loadConfig, type MasterConfig } from '../config.js'
import {
  PROVIDER_GRACE_MS, MAX_FILES_PER_PEER, MAX_RECORDS, MAX_RECORDS_PER_IP, MAX_INDEX_BYTES, PRUNE_AFTER_MS,
  MAX_CONNECTIONS_PER_IP, CONNECTIONS_PER_IP_PER_SECOND, IDLE_CONNECTION_MS, RESERVATIONS_PER_IP, RESERVATION_REGISTRATION_WAIT_MS
} from './tuning.js'

const log = logger('fileshare:master')

export interface MasterOptions {
  /** multiaddrs to listen on (default: config/master.json) */
  listen?: string[]
  /** multiaddrs to announce instead of the listen addresses */
  announce?: string[]
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
  /** records the whole index may hold (default 2 000 000) */
  maxRecords?: number
  /** records the peers registering from one IP may hold together (default 500 000) */
  maxRecordsPerIp?: number
  /** index file size past which registrations get STORAGE_FULL, bytes (default 4 GiB) */
  maxIndexBytes?: number
  /** records of peers not live for this long are deleted, ms (default 7 days; 0 = never) */
  pruneAfterMs?: number
  /** inbound connections from one IP at once (default 512) */
  maxConnectionsPerIp?: number
  /** new inbound connections per second from one IP (default 64) */
  connectionsPerIpPerSecond?: number
  /** inbound connections that register, look up, dial back or reserve nothing within this time are closed, ms (default 30 s; 0 = never) */
  idleConnectionMs?: number
  /** relay reservations held from one IP at once (default 64) */
  reservationsPerIp?: number
}

export interface Master {
  readonly node: FileShareNode
  readonly peerId: string
  /** every address the master can be reached at, each ending in /p2p/<PeerId> */
  addrs: () => string[]
  readonly index: IndexStore
  readonly liveness: Liveness
  /** per-IP connection cap and idle-connection reaper */
  readonly connections: ConnectionGuard
  /** dial-back results per peer */
  readonly verified: VerifiedAddrs
  /** deletes the records of peers not live for pruneAfterMs now (also runs on a timer); returns the records deleted */
  prune: () => number
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
  if (index.startupError != null) log.error('the index cannot be written (%s): registrations are refused until there is space; lookups and searches are served', index.startupError)
  const verified = new VerifiedAddrs()
  let node: FileShareNode | null = null
  const guard = new ConnectionGuard({
    maxPerIp: options.maxConnectionsPerIp ?? config.maxConnectionsPerIp ?? MAX_CONNECTIONS_PER_IP,
    idleMs: options.idleConnectionMs ?? config.idleConnectionMs ?? IDLE_CONNECTION_MS,
    registered: peer => index.isLive(peer) === true,
    reserved: peer => node?.services.relay?.reservations.has(peer) === true
  })
  // the protocol servers are libp2p services: started and stopped with the node
  let liveness: Liveness | null = null
  const services = {
    register: registerServer({
      store: index,
      limiter: peerRateLimiter(requestsPerSecond, requestBurst),
      maxFilesPerPeer: options.maxFilesPerPeer ?? config.maxFilesPerPeer ?? MAX_FILES_PER_PEER,
      maxRecords: options.maxRecords ?? config.maxRecords ?? MAX_RECORDS,
      maxRecordsPerIp: options.maxRecordsPerIp ?? config.maxRecordsPerIp ?? MAX_RECORDS_PER_IP,
      maxIndexBytes: options.maxIndexBytes ?? config.maxIndexBytes ?? MAX_INDEX_BYTES,
      isStorageError,
      requestTimeoutMs,
      onRegistered: (peer, connection) => {
        liveness?.connected(peer)
        if (connection != null) guard.used(connection)
      }
    }),
    lookup: lookupServer({
      store: index,
      limiter: peerRateLimiter(requestsPerSecond, requestBurst),
      requestTimeoutMs,
      verified,
      onRequest: connection => { guard.used(connection) }
    }),
    dialBack: dialBackServer({
      checksPerIpPerMinute: options.dialBackPerIpPerMinute ?? config.dialBackPerIpPerMinute,
      onResult: (peer, reached) => { verified.record(peer, reached) },
      onRequest: connection => { guard.used(connection) }
    })
  }
  let gateTarget: RelayGateTarget | null = null
  const gate = relayGate(() => gateTarget, {
    maxPerIp: options.reservationsPerIp ?? config.reservationsPerIp ?? RESERVATIONS_PER_IP,
    registrationWaitMs: RESERVATION_REGISTRATION_WAIT_MS
  })
  try {
    node = await createNode({
      privateKey,
      listen: options.listen ?? config.listen,
      announce: options.announce ?? config.announce,
      relayServer: { ...config.relay, ...options.relay },
      maxConnections: options.maxConnections ?? config.maxConnections,
      inboundConnectionsPerIpPerSecond: options.connectionsPerIpPerSecond ?? config.connectionsPerIpPerSecond ?? CONNECTIONS_PER_IP_PER_SECOND,
      connectionGater: { ...gate, ...guard.gater() },
      services
    })
    gateTarget = { node, index, verified }
  } catch (err) {
    index.close()
    throw err
  }
  const started: FileShareNode = node
  guard.start(started)
  const tracker = new Liveness(started, index, options.providerGraceMs ?? config.providerGraceMs ?? PROVIDER_GRACE_MS)
  liveness = tracker
  tracker.start()

  // records of peers gone for longer than pruneAfterMs are deleted (a storage error is logged, never thrown)
  const pruneAfterMs = options.pruneAfterMs ?? config.pruneAfterMs ?? PRUNE_AFTER_MS
  const prune = (): number => {
    if (pruneAfterMs <= 0) return 0
    try {
      const deleted = index.prune(Date.now() - pruneAfterMs)
      if (deleted > 0) log('pruned %d records of peers not seen for %d ms', deleted, pruneAfterMs)
      return deleted
    } catch (err: any) {
      log.error('pruning the index failed: %s', err?.message ?? err)
      return 0
    }
  }
  const pruneTimer = pruneAfterMs > 0 ? setInterval(prune, Math.max(1_000, Math.min(3600_000, Math.floor(pruneAfterMs / 4)))) : null
  pruneTimer?.unref()
  log('master %s listening on %s', started.peerId.toString(), started.getMultiaddrs().map(String).join(', '))

  let stopped = false
  return {
    node: started,
    peerId: started.peerId.toString(),
    addrs: () => started.getMultiaddrs().map(String),
    index,
    liveness: tracker,
    connections: guard,
    verified,
    prune,
    async stop () {
      if (stopped) return
      stopped = true
      if (pruneTimer != null) clearInterval(pruneTimer)
      guard.stop()
      tracker.stop()
      await started.stop()
      index.close()
    }
  }
}
