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
import { IndexStore, isStorageError } from './index-store.js'
import { Liveness } from './liveness.js'
import { peerRateLimiter } from './rate-limiter.js'
import { relayGate, type RelayGateTarget } from './relay-gate.js'
import type { Connection } from '@libp2p/interface'
import { ConnectionGuard, directIpOf } from './connection-guard.js'
import { VerifiedAddrs } from './verified-addrs.js'
import { RESERVATION_REGISTRATION_WAIT_MS, INDEX_QUEUED_PER_KEY, INDEX_QUEUED_PER_IP, INDEX_QUEUED, INDEX_MAX_WAIT_MS, MAX_CONNECTIONS_PER_PEER } from './tuning.js'
import { IndexLane } from './index-lane.js'
import { CHECKPOINT_INTERVAL_MS } from './wal-checkpointer.js'
import { PeerStoreJanitor } from './peer-store-janitor.js'
import { FairLimiter } from './fair-limiter.js'
import { traceLoopDelay } from './loop-delay.js'
import { RefusalPenalty } from './refusal-penalty.js'
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
  /**
   * records (files of all peers) the index holds; more → STORAGE_FULL
   * @default 2000000
   */
  maxRecords?: number
  /**
   * records of all peers registering from one IP (a household, a campus behind one NAT); more → QUOTA_EXCEEDED
   * @default 500000
   */
  maxRecordsPerIp?: number
  /**
   * index file size past which registrations that add records get STORAGE_FULL, bytes
   * @default 4 GiB
   */
  maxIndexBytes?: number
  /**
   * records of a peer not live for this long are deleted, ms (0 = never)
   * @default 7 days
   */
  pruneAfterMs?: number
  /**
   * inbound connections from one IP at once (handshakes under way count)
   * @default 512
   */
  maxConnectionsPerIp?: number
  /**
   * new inbound connections accepted per second from one IP
   * @default 64
   */
  connectionsPerIpPerSecond?: number
  /**
   * an inbound connection that registers, looks up, asks a dial-back, holds a relay slot or
   * carries a relayed connection within this time is kept, others are closed, ms (0 = never)
   * @default 30000
   */
  idleConnectionMs?: number
  /**
   * relay reservations held from one IP at once
   * @default 64
   */
  reservationsPerIp?: number
  /**
   * register and lookup requests per second from one IP, whatever the keys (token bucket per protocol)
   * @default 200
   */
  requestsPerIpPerSecond?: number
  /**
   * per-IP token bucket size
   * @default 400
   */
  requestBurstPerIp?: number
  /**
   * ms of index work (register writes, searches) one IP earns per second in the index lane
   * (fair queues, master/index-lane.ts); over it → RATE_LIMITED
   * @default 125
   */
  indexMsPerIpPerSecond?: number
  /**
   * ms of index work one IP may bank
   * @default 1000
   */
  indexBurstMsPerIp?: number
  /**
   * share of the event loop the index work may take while there is some, percent (5–100)
   * @default 25
   */
  indexDutyPercent?: number
  /**
   * RATE_LIMITED answers one key may get in a row (earning one back a second) before its
   * connections stop being read for `refusalPauseMs` (0 = never pause)
   * @default 5
   */
  refusalsBeforePause?: number
  /**
   * how long the connections of a key refused past `refusalsBeforePause` are not read, ms
   * (doubling, up to 16 times, while the key keeps being refused right after a pause)
   * @default 2000
   */
  refusalPauseMs?: number
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
  /** where register writes and searches wait their turn (fair over IPs, budgeted) */
  readonly indexLane: Pick<IndexLane, 'waiting' | 'backlogMs' | 'refused'>
  /** pauses the connections of keys that keep asking after RATE_LIMITED */
  readonly penalty: Pick<RefusalPenalty, 'pauses' | 'isPaused'>
  /** forgets peer-store entries of peers neither connected nor registered */
  readonly peerStoreJanitor: PeerStoreJanitor
  /** deletes the records of peers not live for pruneAfterMs now (also runs on a timer); returns the records deleted */
  prune: () => number
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
    cleanup.push(async () => { await index.close() })
    if (index.startupError != null) log.error('the index cannot be written (%s): registrations are refused until there is space; lookups and searches are served', index.startupError)
    const requestTimeoutMs = options.requestTimeoutMs ?? d.requestTimeoutMs
    const requestsPerSecond = options.requestsPerSecond ?? d.requestsPerSecond
    const requestBurst = options.requestBurst ?? d.requestBurst
    const ipRate = options.requestsPerIpPerSecond ?? d.requestsPerIpPerSecond
    const ipBurst = options.requestBurstPerIp ?? d.requestBurstPerIp
    const verified = new VerifiedAddrs()
    // heavy index work (register writes, searches) in fair, budgeted slices: lookups stay quick under a flood
    const lane = new IndexLane({
      msPerIpPerSecond: options.indexMsPerIpPerSecond ?? d.indexMsPerIpPerSecond,
      burstMsPerIp: options.indexBurstMsPerIp ?? d.indexBurstMsPerIp,
      duty: Math.min(100, Math.max(5, options.indexDutyPercent ?? d.indexDutyPercent)) / 100,
      maxQueuedPerKey: INDEX_QUEUED_PER_KEY,
      maxQueuedPerIp: INDEX_QUEUED_PER_IP,
      maxQueued: INDEX_QUEUED,
      maxWaitMs: INDEX_MAX_WAIT_MS
    })
    cleanup.push(() => { lane.stop() })
    // the index's log is checkpointed on a thread, the lane's writes held meanwhile (wal-checkpointer.ts)
    const checkpoints = setInterval(() => { lane.hold(index.checkpoint()) }, CHECKPOINT_INTERVAL_MS)
    checkpoints.unref()
    cleanup.push(() => { clearInterval(checkpoints) })
    let started: FileShareNode | null = null
    // a key that keeps asking after RATE_LIMITED is not read for a while (each refusal costs a stream and frames)
    const penalty = new RefusalPenalty({
      tolerance: options.refusalsBeforePause ?? d.refusalsBeforePause,
      pauseMs: options.refusalPauseMs ?? d.refusalPauseMs,
      exempt: peer => started?.services.relay?.reservations.has(peer) === true
    })
    // after the answer is on its way
    const refused = (connection: Connection): void => { setImmediate(() => { penalty.refused(connection) }) }
    // per-IP connection cap and idle reaper (issue 10)
    const guard = new ConnectionGuard({
      maxPerIp: options.maxConnectionsPerIp ?? d.maxConnectionsPerIp,
      maxPerPeer: MAX_CONNECTIONS_PER_PEER,
      idleMs: options.idleConnectionMs ?? d.idleConnectionMs,
      registered: peer => index.isLive(peer) === true,
      reserved: peer => started?.services.relay?.reservations.has(peer) === true
    })
    const guardGater = guard.gater()
    // the protocol servers are libp2p services: started and stopped with the node
    let tracker: Liveness | null = null
    const services = {
      register: registerServer({
        store: index,
        limiter: peerRateLimiter(requestsPerSecond, requestBurst),
        ipLimiter: new FairLimiter(ipRate, ipBurst),
        maxFilesPerPeer: options.maxFilesPerPeer ?? d.maxFilesPerPeer,
        maxRecords: options.maxRecords ?? d.maxRecords,
        maxRecordsPerIp: options.maxRecordsPerIp ?? d.maxRecordsPerIp,
        maxIndexBytes: options.maxIndexBytes ?? d.maxIndexBytes,
        isStorageError,
        requestTimeoutMs,
        lane,
        onRegistered: (peer, connection) => {
          tracker?.connected(peer)
          if (connection != null) guard.used(connection)
        },
        onRefused: refused
      }),
      lookup: lookupServer({
        store: index,
        limiter: peerRateLimiter(requestsPerSecond, requestBurst),
        ipLimiter: new FairLimiter(ipRate, ipBurst),
        requestTimeoutMs,
        verified,
        lane,
        onRequest: connection => { guard.used(connection) },
        onRefused: refused
      }),
      dialBack: dialBackServer({
        checksPerIpPerMinute: options.dialBackPerIpPerMinute ?? d.dialBackPerIpPerMinute,
        onResult: (peer, reached) => { verified.record(peer, reached) },
        onRequest: connection => { guard.used(connection) }
      })
    }
    let gateTarget: RelayGateTarget | null = null
    const gate = relayGate(() => gateTarget, {
      maxPerIp: options.reservationsPerIp ?? d.reservationsPerIp,
      registrationWaitMs: RESERVATION_REGISTRATION_WAIT_MS
    })
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
      inboundConnectionsPerIpPerSecond: options.connectionsPerIpPerSecond ?? d.connectionsPerIpPerSecond,
      connectionGater: {
        ...gate,
        ...guardGater,
        // an IP whose keys keep being refused gets few handshakes (refused before noise, the costly part)
        denyInboundConnection: maConn => penalty.denyHandshake(directIpOf(maConn.remoteAddr)) || guardGater.denyInboundConnection?.(maConn) === true
      },
      services
    })
    started = node
    cleanup.push(async () => { await node.stop() })
    await assertListening(node, listen)
    gateTarget = { node, index, verified }
    guard.start(node)
    cleanup.push(() => { guard.stop() })
    penalty.start(node)
    cleanup.push(() => { penalty.stop() })
    // the peer store keeps only peers that are connected or registered (nothing grows per stranger)
    const janitor = new PeerStoreJanitor({ indexed: peer => index.isLive(peer) !== undefined })
    janitor.start(node)
    cleanup.push(() => { janitor.stop() })
    // the addresses peers announce at the IP the master sees them at (lookups rank and list by them)
    const onIdentify = (evt: CustomEvent<any>): void => {
      const { peerId, listenAddrs } = evt.detail
      verified.announce(peerId, listenAddrs ?? [], node.getConnections(peerId))
    }
    const onUpdate = (evt: CustomEvent<any>): void => {
      const peer = evt.detail.peer
      if (node.getConnections(peer.id).length > 0) verified.announce(peer.id, peer.addresses.map((a: any) => a.multiaddr), node.getConnections(peer.id))
    }
    const onGone = (evt: CustomEvent<any>): void => { verified.disconnected(evt.detail.toString()) }
    node.addEventListener('peer:identify', onIdentify)
    node.addEventListener('peer:update', onUpdate)
    node.addEventListener('peer:disconnect', onGone)
    cleanup.push(() => {
      node.removeEventListener('peer:identify', onIdentify)
      node.removeEventListener('peer:update', onUpdate)
      node.removeEventListener('peer:disconnect', onGone)
    })
    const liveness = tracker = new Liveness(node, index, options.providerGraceMs ?? d.providerGraceMs)
    liveness.start()
    cleanup.push(() => { liveness.stop() })
    // DEBUG=fileshare:master:loop: the event loop's delay, logged every few seconds (benches, diagnosis)
    const stopLoopTrace = traceLoopDelay()
    cleanup.push(stopLoopTrace)

    // records of peers gone for longer than pruneAfterMs are deleted (a storage error is logged, never thrown)
    const pruneAfterMs = options.pruneAfterMs ?? d.pruneAfterMs
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
    cleanup.push(() => { if (pruneTimer != null) clearInterval(pruneTimer) })
    log('master %s listening on %s', node.peerId.toString(), node.getMultiaddrs().map(String).join(', '))

    let stopped = false
    return {
      node,
      peerId: node.peerId.toString(),
      addrs: () => node.getMultiaddrs().map(String),
      index,
      liveness,
      connections: guard,
      verified,
      indexLane: lane,
      penalty,
      peerStoreJanitor: janitor,
      prune,
      async stop () {
        if (stopped) return
        stopped = true
        if (pruneTimer != null) clearInterval(pruneTimer)
        clearInterval(checkpoints)
        node.removeEventListener('peer:identify', onIdentify)
        node.removeEventListener('peer:update', onUpdate)
        node.removeEventListener('peer:disconnect', onGone)
        stopLoopTrace()
        penalty.stop()
        guard.stop()
        janitor.stop()
        liveness.stop()
        await node.stop()
        lane.stop()
        await index.close()
        lock?.release()
      }
    }
  } catch (err) {
    await undo()
    throw toFileShareError(err, 'INTERNAL')
  }
}
