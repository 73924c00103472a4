/**
 * The one home of the defaults of a master's and a peer's options. `createMaster`/`createPeer`
 * fall back to these for every option left out; the CLI starts from them too, and the shipped
 * config/master.json and config/peer.json repeat them for users to copy and edit (a unit
 * test keeps the two in agreement). Library code never reads those files. Values that are
 * also tuning constants of a module are taken from it, so each number is written once.
 */
import type { RelayServerConfig } from './node/create-node.js'
import { TRANSPORTS, DEFAULT_ENCRYPTERS, type TransportName, type EncrypterName } from './node/transport-names.js'
import { PUNCH_WAIT_MS } from './node/hole-punch-tuning.js'
import type { ReachabilityMode } from './types.js'
import {
  PROVIDER_GRACE_MS, MAX_FILES_PER_PEER, MASTER_REQUESTS_PER_SECOND, MASTER_REQUEST_BURST, MAX_RECORDS, MAX_RECORDS_PER_IP,
  MAX_INDEX_BYTES, PRUNE_AFTER_MS, MAX_CONNECTIONS_PER_IP, CONNECTIONS_PER_IP_PER_SECOND, IDLE_CONNECTION_MS, RESERVATIONS_PER_IP,
  REQUESTS_PER_IP_PER_SECOND, REQUEST_BURST_PER_IP, INDEX_MS_PER_IP_PER_SECOND, INDEX_BURST_MS_PER_IP, INDEX_DUTY_PERCENT,
  REFUSALS_BEFORE_PAUSE, REFUSAL_PAUSE_MS
} from './master/tuning.js'
import { REQUEST_TIMEOUT_MS } from './protocols/constants.js'
import { DIALBACK_PER_IP_PER_MINUTE } from './protocols/dialback/constants.js'
import { DEFAULT_MAX_UPLOADS, DEFAULT_MAX_UPLOADS_PER_PEER, DEFAULT_MAX_UPLOADS_PER_IP, STREAM_IDLE_TIMEOUT_MS } from './protocols/fetch/constants.js'
import { DEFAULT_REQUESTS_IN_FLIGHT } from './peer/download/tuning.js'
import { SHARE_SETTLE_MS, SHARE_RESCAN_INTERVAL_MS } from './peer/share/tuning.js'

export interface MasterDefaults {
  listen: string[]
  announce: string[]
  transports: TransportName[]
  encrypters: EncrypterName[]
  data: string
  maxConnections: number
  providerGraceMs: number
  maxFilesPerPeer: number
  requestTimeoutMs: number
  requestsPerSecond: number
  requestBurst: number
  dialBackPerIpPerMinute: number
  /** issue 10's limits (master/tuning.ts, SECURITY.md) */
  maxRecords: number
  maxRecordsPerIp: number
  maxIndexBytes: number
  pruneAfterMs: number
  maxConnectionsPerIp: number
  connectionsPerIpPerSecond: number
  idleConnectionMs: number
  reservationsPerIp: number
  requestsPerIpPerSecond: number
  requestBurstPerIp: number
  indexMsPerIpPerSecond: number
  indexBurstMsPerIp: number
  indexDutyPercent: number
  refusalsBeforePause: number
  refusalPauseMs: number
  /** CLI only: the dashboard's address (--web), or null */
  web: string | null
  /** CLI only: a /metrics-only server's address (--metrics), or null */
  metrics: string | null
  relay: RelayServerConfig
}

export interface PeerDefaults {
  master: string | null
  listen: string[]
  announce: string[]
  transports: TransportName[]
  encrypters: EncrypterName[]
  data: string
  maxUploads: number
  /** upload slots one PeerId may hold */
  maxUploadsPerPeer: number
  /** upload slots one remote IP (IPv6: one /64) may hold */
  maxUploadsPerIp: number
  requestsInFlight: number
  reachability: ReachabilityMode
  holePunchWaitMs: number
  watch: boolean
  settleMs: number
  rescanIntervalMs: number
  streamIdleTimeoutMs: number
  /** a get serves the chunks it verified to other downloaders while it runs (swarming) */
  upload: boolean
  /** CLI only: the web UI's address (--web; '' = the default), or null */
  web: string | null
  /** CLI only: the folder web UI downloads go under (--downloads) */
  downloads: string
  /** CLI only: a /metrics-only server's address (--metrics), or null */
  metrics: string | null
}

export const MASTER_DEFAULTS: Readonly<MasterDefaults> = Object.freeze({
  listen: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/udp/4001/quic-v1'],
  announce: [],
  transports: [...TRANSPORTS],
  encrypters: [...DEFAULT_ENCRYPTERS],
  data: '.fileshare/master',
  maxConnections: 2000,
  providerGraceMs: PROVIDER_GRACE_MS,
  maxFilesPerPeer: MAX_FILES_PER_PEER,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  requestsPerSecond: MASTER_REQUESTS_PER_SECOND,
  requestBurst: MASTER_REQUEST_BURST,
  dialBackPerIpPerMinute: DIALBACK_PER_IP_PER_MINUTE,
  maxRecords: MAX_RECORDS,
  maxRecordsPerIp: MAX_RECORDS_PER_IP,
  maxIndexBytes: MAX_INDEX_BYTES,
  pruneAfterMs: PRUNE_AFTER_MS,
  maxConnectionsPerIp: MAX_CONNECTIONS_PER_IP,
  connectionsPerIpPerSecond: CONNECTIONS_PER_IP_PER_SECOND,
  idleConnectionMs: IDLE_CONNECTION_MS,
  reservationsPerIp: RESERVATIONS_PER_IP,
  requestsPerIpPerSecond: REQUESTS_PER_IP_PER_SECOND,
  requestBurstPerIp: REQUEST_BURST_PER_IP,
  indexMsPerIpPerSecond: INDEX_MS_PER_IP_PER_SECOND,
  indexBurstMsPerIp: INDEX_BURST_MS_PER_IP,
  indexDutyPercent: INDEX_DUTY_PERCENT,
  refusalsBeforePause: REFUSALS_BEFORE_PAUSE,
  refusalPauseMs: REFUSAL_PAUSE_MS,
  web: null,
  metrics: null,
  relay: Object.freeze({
    maxReservations: 1024,
    dataLimit: 1024 * 1024 * 1024,
    durationLimit: 3_600_000,
    reservationTtl: 7200
  })
})

export const PEER_DEFAULTS: Readonly<PeerDefaults> = Object.freeze({
  master: null,
  listen: ['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/udp/0/quic-v1'],
  announce: [],
  transports: [...TRANSPORTS],
  encrypters: [...DEFAULT_ENCRYPTERS],
  data: '.fileshare/peer',
  maxUploads: DEFAULT_MAX_UPLOADS,
  maxUploadsPerPeer: DEFAULT_MAX_UPLOADS_PER_PEER,
  maxUploadsPerIp: DEFAULT_MAX_UPLOADS_PER_IP,
  requestsInFlight: DEFAULT_REQUESTS_IN_FLIGHT,
  reachability: 'auto',
  holePunchWaitMs: PUNCH_WAIT_MS,
  watch: true,
  settleMs: SHARE_SETTLE_MS,
  rescanIntervalMs: SHARE_RESCAN_INTERVAL_MS,
  streamIdleTimeoutMs: STREAM_IDLE_TIMEOUT_MS,
  upload: true,
  web: null,
  downloads: '.fileshare/downloads',
  metrics: null
})
