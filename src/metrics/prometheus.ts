/**
 * The Prometheus sink: FileShare counters and histograms in a prom-client Registry of
 * their own, plus plain totals the web dashboards sample (history.ts). libp2p's metrics
 * (@libp2p/prometheus-metrics) live in a second registry, filled by the libp2p node when
 * `libp2pMetrics()` is passed as `metrics:` to createLibp2p; `/metrics` prints both.
 *
 * Names follow the Prometheus conventions: `fileshare_` prefix, `_total` for counters,
 * the unit (`_bytes`, `_seconds`) in the name.
 */
import { Registry, Counter, Histogram, Gauge } from 'prom-client'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Metrics as Libp2pMetrics, Stream } from '@libp2p/interface'
import { dropReason, metrics, setMetrics, type FileShareMetrics, type LookupKind, type RefusalReason } from './metrics.js'

const RELAY_PROTOCOLS = new Set(['/libp2p/circuit/relay/0.2.0/hop', '/libp2p/circuit/relay/0.2.0/stop'])

/** What one content id's uploads did lately (peer web UI). */
export interface UploadActivity {
  bytes: number
  chunks: number
  lastAt: number
}

/** Plain running totals (the dashboards' charts are made of their differences). */
export interface Totals {
  registrations: number
  lookups: number
  searches: number
  refused: number
  relayedBytes: number
  servedBytes: number
  downloadedBytes: number
  chunksVerified: number
  chunksRejected: number
  providersDropped: number
}

export class PrometheusMetrics implements FileShareMetrics {
  readonly registry = new Registry()
  /** libp2p's own metrics, when the node was created with `libp2p()` */
  libp2pRegistry: Registry | null = null
  readonly totals: Totals = {
    registrations: 0, lookups: 0, searches: 0, refused: 0, relayedBytes: 0, servedBytes: 0, downloadedBytes: 0, chunksVerified: 0, chunksRejected: 0, providersDropped: 0
  }

  readonly refusedByReason: Record<RefusalReason, number> = { rate_limit: 0, quota: 0, relay_refused: 0 }
  /** content id → upload activity since start */
  readonly uploads = new Map<string, UploadActivity>()

  private readonly registrations: Counter
  private readonly registeredFiles: Counter
  private readonly lookups: Counter
  private readonly searchSeconds: Histogram
  private readonly refusedCounter: Counter
  private readonly relayedBytes: Counter
  private readonly servedBytes: Counter
  private readonly downloadedBytes: Counter
  private readonly chunksVerified: Counter
  private readonly chunksRejected: Counter
  private readonly providersDropped: Counter

  /** `role` chooses which counters /metrics shows: the master's or a peer's (all are counted) */
  constructor (readonly role: 'master' | 'peer') {
    const all = [this.registry]
    const master = role === 'master' ? all : []
    const peer = role === 'peer' ? all : []
    let registers = master
    this.registrations = new Counter({ name: 'fileshare_registrations_total', help: 'Register batches the master applied, by operation', labelNames: ['op'], registers })
    this.registeredFiles = new Counter({ name: 'fileshare_registered_files_total', help: 'File records received in register batches (reset and add)', registers })
    this.lookups = new Counter({ name: 'fileshare_lookups_total', help: 'Lookups the master answered, by kind (providers, search, name, peer)', labelNames: ['kind'], registers })
    this.searchSeconds = new Histogram({
      name: 'fileshare_search_duration_seconds',
      help: 'Time the master spent answering a name search',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers
    })
    this.refusedCounter = new Counter({ name: 'fileshare_refused_requests_total', help: 'Requests the master refused, by reason (rate_limit, quota, relay_refused)', labelNames: ['reason'], registers })
    this.relayedBytes = new Counter({ name: 'fileshare_relayed_bytes_total', help: 'Bytes the master relayed between peers (circuit relay v2)', registers })
    registers = peer
    this.servedBytes = new Counter({ name: 'fileshare_served_bytes_total', help: 'Chunk bytes this peer sent to downloaders', registers })
    this.downloadedBytes = new Counter({ name: 'fileshare_downloaded_bytes_total', help: 'Chunk bytes this peer downloaded and verified', registers })
    this.chunksVerified = new Counter({ name: 'fileshare_chunks_verified_total', help: 'Downloaded chunks that matched their manifest hash', registers })
    this.chunksRejected = new Counter({ name: 'fileshare_chunks_rejected_total', help: 'Downloaded chunks that failed verification (discarded)', registers })
    this.providersDropped = new Counter({ name: 'fileshare_providers_dropped_total', help: 'Providers a download stopped using, by reason', labelNames: ['reason'], registers })
    for (const reason of Object.keys(this.refusedByReason)) this.refusedCounter.inc({ reason }, 0)
  }

  registration (op: string, files: number): void {
    this.totals.registrations++
    this.registrations.inc({ op: op.toLowerCase() })
    if (files > 0) this.registeredFiles.inc(files)
  }

  lookup (kind: LookupKind, seconds: number): void {
    this.totals.lookups++
    this.lookups.inc({ kind })
    if (kind === 'search') {
      this.totals.searches++
      this.searchSeconds.observe(seconds)
    }
  }

  refused (reason: RefusalReason): void {
    this.totals.refused++
    this.refusedByReason[reason]++
    this.refusedCounter.inc({ reason })
  }

  relayed (bytes: number): void {
    this.totals.relayedBytes += bytes
    this.relayedBytes.inc(bytes)
  }

  served (id: string, bytes: number): void {
    this.totals.servedBytes += bytes
    this.servedBytes.inc(bytes)
    const a = this.uploads.get(id) ?? { bytes: 0, chunks: 0, lastAt: 0 }
    a.bytes += bytes
    a.chunks++
    a.lastAt = Date.now()
    this.uploads.set(id, a)
  }

  chunkVerified (bytes: number): void {
    this.totals.chunksVerified++
    this.totals.downloadedBytes += bytes
    this.chunksVerified.inc()
    this.downloadedBytes.inc(bytes)
  }

  chunkRejected (): void {
    this.totals.chunksRejected++
    this.chunksRejected.inc()
  }

  providerDropped (reason: string): void {
    this.totals.providersDropped++
    this.providersDropped.inc({ reason: dropReason(reason) })
  }

  private readonly gauges = new Map<string, { read: () => number | Record<string, number> }>()

  /**
   * A gauge read when /metrics is scraped (values the modules already know). Registering a
   * name again replaces its reader (one process, several nodes: the last one is shown).
   */
  gauge (name: string, help: string, read: () => number | Record<string, number>, labelName?: string): void {
    const existing = this.gauges.get(name)
    if (existing != null) {
      existing.read = read
      return
    }
    const source = { read }
    this.gauges.set(name, source)
    new Gauge({ // eslint-disable-line no-new
      name,
      help,
      labelNames: labelName != null ? [labelName] : [],
      registers: [this.registry],
      collect () {
        const value = source.read()
        if (typeof value === 'number') {
          this.set(value)
        } else {
          this.reset()
          for (const [label, v] of Object.entries(value)) this.set({ [labelName!]: label }, v)
        }
      }
    })
  }

  /**
   * The `metrics:` option of createLibp2p: libp2p's own metrics in their own registry; on a
   * relay server it also counts the bytes forwarded on relay streams as
   * `fileshare_relayed_bytes_total`.
   */
  libp2p (options: { relayServer?: boolean }): (components: any) => Libp2pMetrics {
    const registry = this.libp2pRegistry = new Registry()
    const factory = prometheusMetrics({ registry })
    return components => {
      const m = factory(components)
      if (options.relayServer === true) {
        const track = m.trackProtocolStream.bind(m)
        m.trackProtocolStream = (stream: Stream) => {
          track(stream)
          if (stream.protocol == null || !RELAY_PROTOCOLS.has(stream.protocol)) return
          const send = stream.send.bind(stream)
          stream.send = (buf: any) => {
            this.relayed(buf.byteLength ?? 0)
            return send(buf)
          }
        }
      }
      return m
    }
  }

  /** The Prometheus text exposition of both registries. */
  async text (): Promise<string> {
    const own = await this.registry.metrics()
    const lib = this.libp2pRegistry != null ? await this.libp2pRegistry.metrics() : ''
    return lib === '' ? own : `${own}\n${lib}`
  }

  get contentType (): string {
    return this.registry.contentType
  }
}

/** Installs a Prometheus sink for this process (once) and returns it. */
export function enablePrometheus (role: 'master' | 'peer'): PrometheusMetrics {
  const existing = metrics()
  if (existing instanceof PrometheusMetrics) return existing
  const sink = new PrometheusMetrics(role)
  setMetrics(sink)
  return sink
}

/** The sink installed by `enablePrometheus`, or null. */
export function prometheus (): PrometheusMetrics | null {
  const m = metrics()
  return m instanceof PrometheusMetrics ? m : null
}
