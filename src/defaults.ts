/**
 * The one home of the defaults of a master and a peer. `createMaster`/`createPeer` fall back
 * to these for every option left out; the CLI starts from them too, and the shipped
 * config/master.json and config/peer.json repeat them for users to copy and edit (a unit
 * test keeps the two in agreement). Library code never reads those files.
 */
import type { RelayServerConfig } from './node/create-node.js'
import type { ReachabilityMode } from './peer/reachability.js'

export interface MasterDefaults {
  listen: string[]
  announce: string[]
  data: string
  maxConnections: number
  providerGraceMs: number
  maxFilesPerPeer: number
  requestTimeoutMs: number
  requestsPerSecond: number
  requestBurst: number
  relay: RelayServerConfig
}

export interface PeerDefaults {
  master: string | null
  listen: string[]
  announce: string[]
  data: string
  maxUploads: number
  requestsInFlight: number
  reachability: ReachabilityMode
  watch: boolean
  settleMs: number
  rescanIntervalMs: number
  streamIdleTimeoutMs: number
}

export const MASTER_DEFAULTS: Readonly<MasterDefaults> = Object.freeze({
  listen: ['/ip4/0.0.0.0/tcp/4001'],
  announce: [],
  data: '.fileshare/master',
  maxConnections: 2000,
  providerGraceMs: 10_000,
  maxFilesPerPeer: 100_000,
  requestTimeoutMs: 15_000,
  requestsPerSecond: 50,
  requestBurst: 200,
  relay: Object.freeze({
    maxReservations: 1024,
    dataLimit: 1024 * 1024 * 1024,
    durationLimit: 3_600_000,
    reservationTtl: 7200
  })
})

export const PEER_DEFAULTS: Readonly<PeerDefaults> = Object.freeze({
  master: null,
  listen: ['/ip4/0.0.0.0/tcp/0'],
  announce: [],
  data: '.fileshare/peer',
  maxUploads: 32,
  requestsInFlight: 16,
  reachability: 'auto',
  watch: true,
  settleMs: 1000,
  rescanIntervalMs: 60_000,
  streamIdleTimeoutMs: 30_000
})
