/**
 * FileShare's counting interface: the protocol code calls `metrics().<event>(…)` (one line
 * per hook); what happens with the counts is decided once per process. By default nothing
 * is counted (a no-op sink); `node dist/*.js --web` or `--metrics` installs the Prometheus
 * sink (prometheus.ts), which also keeps plain totals for the web dashboards.
 */

/** Why the master turned a request away. */
import type { Metrics as Libp2pMetrics } from '@libp2p/interface'

export type RefusalReason = 'rate_limit' | 'quota' | 'relay_refused'
/** What kind of lookup the master answered. */
export type LookupKind = 'providers' | 'search' | 'name' | 'peer'
/** Why a download stopped using a provider (see `dropReason`). */
export type DropReason = 'verification' | 'stalled' | 'busy' | 'not_found' | 'disconnected' | 'other'

export interface FileShareMetrics {
  /** master: a register batch was applied (`op`: reset, add or remove; `files` in the batch) */
  registration: (op: string, files: number) => void
  /** master: a lookup was answered (`seconds`: time spent in the index) */
  lookup: (kind: LookupKind, seconds: number) => void
  /** master: a request (or relay reservation) was refused */
  refused: (reason: RefusalReason) => void
  /** master: bytes relayed between two peers (counted on the relay's streams) */
  relayed: (bytes: number) => void
  /** peer: chunk bytes of content id `id` (text form) sent to a downloader */
  served: (id: string, bytes: number) => void
  /** peer: a chunk of `bytes` verified and written by a download */
  chunkVerified: (bytes: number) => void
  /** peer: a chunk failed verification and was discarded */
  chunkRejected: () => void
  /** peer: a download dropped a provider (`reason` as in the provider-dropped event) */
  providerDropped: (reason: string) => void
  /**
   * The `metrics:` option of createLibp2p (libp2p's own metrics), when this sink has them;
   * `relayServer`: also count the bytes a relay forwards
   */
  libp2p?: (options: { relayServer?: boolean }) => (components: any) => Libp2pMetrics
}

const noop = (): void => {}
export const NO_METRICS: FileShareMetrics = {
  registration: noop,
  lookup: noop,
  refused: noop,
  relayed: noop,
  served: noop,
  chunkVerified: noop,
  chunkRejected: noop,
  providerDropped: noop
}

let current: FileShareMetrics = NO_METRICS

/** The process's metrics sink (a no-op unless one was installed). */
export function metrics (): FileShareMetrics {
  return current
}

/** Installs `sink` for this process (null: back to the no-op sink). */
export function setMetrics (sink: FileShareMetrics | null): void {
  current = sink ?? NO_METRICS
}

/** A provider-dropped reason as a small set of label values. */
export function dropReason (reason: string): DropReason {
  const r = reason.toLowerCase()
  if (r.includes('verification')) return 'verification'
  if (r.includes('stall')) return 'stalled'
  if (r.includes('busy')) return 'busy'
  if (r.includes('not_found') || r.includes('not found') || r.includes('not shared')) return 'not_found'
  if (r.includes('clos') || r.includes('reset') || r.includes('connection') || r.includes('dial')) return 'disconnected'
  return 'other'
}
