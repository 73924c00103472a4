/**
 * The master dashboard and its JSON API (off by default: `master.js --web ADDR`, with an
 * admin token): live peers (direct or relayed), the index, lookups and searches per second,
 * relay reservations and relayed bytes, refused requests by reason, the last hour in charts,
 * and /metrics. Depends only on the public `Master` interface and the metrics sink.
 */
import type { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { Master } from '../master/master.js'
import { startWebServer, type ListenAddress, type WebServer } from './http.js'
import { enablePrometheus, type PrometheusMetrics } from '../metrics/prometheus.js'
import { History } from '../metrics/history.js'

export interface MasterWebOptions {
  listen: ListenAddress
  token?: string
  /** the relay's reservation limit (shown beside the count) */
  maxReservations?: number
  /** history resolution (default 10 s over an hour) */
  historyStepMs?: number
}

export interface MasterWeb {
  readonly server: WebServer
  close: () => Promise<void>
}

/** What the dashboard and the gauges read off a master (index counts cached for a second). */
export function masterView (master: Master): {
  indexStats: () => { files: number, ids: number, liveFiles: number, livePeers: number }
  relayedCount: () => number
  reservations: () => number
  peers: () => Array<{ peer: string, path: 'direct' | 'relayed', files: number, addrs: string[] }>
} {
  const relay = (): { reservations: Map<any, any> } | undefined => master.node.services.relay as any
  // the index counts cost a scan of the files table: at most once a second
  let statsAt = 0
  let stats = master.index.stats()
  const indexStats = (): typeof stats => {
    if (Date.now() - statsAt > 1000) {
      stats = master.index.stats()
      statsAt = Date.now()
    }
    return stats
  }
  const relayedCount = (): number => {
    const reserved = relay()?.reservations
    if (reserved == null) return 0
    return [...reserved.keys()].filter(k => master.index.isLive(k.toString()) === true).length
  }
  const peers = (): Array<{ peer: string, path: 'direct' | 'relayed', files: number, addrs: string[] }> => {
    const reserved = new Set([...(relay()?.reservations.keys() ?? [])].map(k => k.toString()))
    const connected = new Map<string, string[]>()
    for (const c of master.node.getConnections()) {
      const peer = c.remotePeer.toString()
      connected.set(peer, [...(connected.get(peer) ?? []), c.remoteAddr.toString()])
    }
    return master.index.livePeers(500).map(p => ({ peer: p.peer, path: reserved.has(p.peer) ? 'relayed' : 'direct', files: p.files, addrs: connected.get(p.peer) ?? [] }))
  }
  return { indexStats, relayedCount, reservations: () => relay()?.reservations.size ?? 0, peers }
}

/** The master's gauges in /metrics (with --web or --metrics). */
export function registerMasterGauges (sink: PrometheusMetrics, view: ReturnType<typeof masterView>): void {
  sink.gauge('fileshare_live_peers', 'Peers whose records the master serves now, by how they are reached (direct, relayed)', () => {
    const live = view.indexStats().livePeers
    const relayed = view.relayedCount()
    return { direct: live - relayed, relayed }
  }, 'path')
  sink.gauge('fileshare_indexed_files', 'File records in the master index (all peers)', () => view.indexStats().files)
  sink.gauge('fileshare_indexed_content_ids', 'Distinct content ids in the master index', () => view.indexStats().ids)
  sink.gauge('fileshare_relay_reservations', 'Relay slots (circuit relay v2 reservations) held now', view.reservations)
}

export async function startMasterWeb (master: Master, options: MasterWebOptions): Promise<MasterWeb> {
  const sink = enablePrometheus('master')
  const started = Date.now()
  const view = masterView(master)
  const { indexStats, relayedCount, peers } = view
  registerMasterGauges(sink, view)

  const stepMs = options.historyStepMs ?? 10_000
  const history = new History({
    livePeers: { kind: 'gauge', read: () => indexStats().livePeers },
    relayedPeers: { kind: 'gauge', read: relayedCount },
    files: { kind: 'gauge', read: () => indexStats().files },
    lookups: { kind: 'rate', read: () => sink.totals.lookups },
    searches: { kind: 'rate', read: () => sink.totals.searches },
    relayedBytes: { kind: 'rate', read: () => sink.totals.relayedBytes },
    refused: { kind: 'rate', read: () => sink.totals.refused }
  }, stepMs)
  history.start()
  // per-second rates for the tiles (the history's step is too coarse for them)
  const last = { at: Date.now(), lookups: 0, searches: 0, relayedBytes: 0, registrations: 0 }
  let rates = { lookups: 0, searches: 0, relayedBytes: 0, registrations: 0 }
  const rateTimer = setInterval(() => {
    const now = Date.now()
    const s = (now - last.at) / 1000
    const t = sink.totals
    rates = { lookups: (t.lookups - last.lookups) / s, searches: (t.searches - last.searches) / s, relayedBytes: (t.relayedBytes - last.relayedBytes) / s, registrations: (t.registrations - last.registrations) / s }
    Object.assign(last, { at: now, lookups: t.lookups, searches: t.searches, relayedBytes: t.relayedBytes, registrations: t.registrations })
  }, 2000)
  rateTimer.unref()

  const overview = (): Record<string, unknown> => {
    const st = indexStats()
    const relayed = relayedCount()
    return {
      peerId: master.peerId,
      addrs: master.addrs(),
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      peers: { live: st.livePeers, direct: st.livePeers - relayed, relayed, connections: master.node.getConnections().length },
      index: { files: st.files, ids: st.ids, liveFiles: st.liveFiles },
      relay: { reservations: view.reservations(), max: options.maxReservations ?? null },
      totals: { ...sink.totals },
      refused: { ...sink.refusedByReason },
      rates
    }
  }
  const historyView = (): Record<string, unknown> => ({ ...history.snapshot(), stepSeconds: stepMs / 1000 })

  const routes = (app: Hono): void => {
    app.get('/api/overview', c => c.json(overview()))
    app.get('/api/peers', c => c.json({ peers: peers() }))
    app.get('/api/history', c => c.json(historyView()))
    app.get('/api/events', c => streamSSE(c, async stream => {
      let closed = false
      stream.onAbort(() => { closed = true })
      let lastOverview = ''
      let lastPeers = ''
      let lastHistory = -1
      let ticks = 0
      while (!closed) {
        const o = JSON.stringify(overview())
        if (o !== lastOverview) { lastOverview = o; await stream.writeSSE({ event: 'overview', data: o }) }
        const p = JSON.stringify({ peers: peers() })
        if (p !== lastPeers) { lastPeers = p; await stream.writeSSE({ event: 'peers', data: p }) }
        const h = history.snapshot()
        const at = h.t.at(-1) ?? 0
        if (at !== lastHistory) { lastHistory = at; await stream.writeSSE({ event: 'history', data: JSON.stringify(historyView()) }) }
        if (++ticks % 15 === 0) await stream.write(': keep-alive\n\n')
        await stream.sleep(1000)
      }
    }))
    app.get('/metrics', async c => c.body(await sink.text(), 200, { 'Content-Type': sink.contentType }))
  }

  const server = await startWebServer({
    listen: options.listen,
    token: options.token,
    routes,
    title: 'FileShare master',
    assets: { '/': 'master.html', '/master.js': 'master.js', '/style.css': 'style.css', '/uPlot.min.css': 'uPlot.min.css' }
  })
  return {
    server,
    async close () {
      history.stop()
      clearInterval(rateTimer)
      await server.close()
    }
  }
}
