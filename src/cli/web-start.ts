/**
 * Starting the web UI, the master dashboard and the /metrics-only server from the command
 * line (imported by the commands' `run`, never at the top: it loads the HTTP server).
 */
import type { Output } from './output.js'
import type { Peer } from '../peer/peer.js'
import type { Master } from '../master/master.js'
import { parseListenAddress, isLoopback, type WebServer } from '../web/http.js'
import { startPeerWeb, registerPeerGauges, type PeerWeb } from '../web/peer-web.js'
import { startMasterWeb, masterView, registerMasterGauges } from '../web/master-web.js'
import { enablePrometheus } from '../metrics/prometheus.js'
import { startMetricsServer } from '../metrics/server.js'
import { DEFAULT_WEB_PORT, DEFAULT_MASTER_WEB_PORT, DEFAULT_METRICS_PORT } from './web-options.js'

/** Prometheus metrics must be on before the libp2p node is created (it takes them at creation). */
export function enableMetricsIfWanted (web: string | null, metricsAddr: string | null, role: 'master' | 'peer'): void {
  if (web != null || metricsAddr != null) enablePrometheus(role)
}

/** Starts the /metrics-only server when asked; prints where it is. */
export async function startMetricsIfWanted (metricsAddr: string | null, out: Output, role: 'master' | 'peer'): Promise<(() => Promise<void>) | null> {
  if (metricsAddr == null) return null
  const server = await startMetricsServer(enablePrometheus(role), parseListenAddress(metricsAddr, DEFAULT_METRICS_PORT))
  out.event('metrics', { url: server.url }, `metrics at ${server.url}`)
  return server.close
}

/**
 * Starts the peer's web UI when asked (flag or config) and prints its URL with the token,
 * as Jupyter does; returns what stops it (and the /metrics-only server).
 */
export async function startPeerWebIfWanted (peer: Peer, web: string | null, metricsAddr: string | null, options: { downloads: string, share?: string | null, data?: string | null }, out: Output): Promise<{ close: () => Promise<void>, web: PeerWeb | null }> {
  const closeMetrics = await startMetricsIfWanted(metricsAddr, out, 'peer')
  if (metricsAddr != null) registerPeerGauges(enablePrometheus('peer'), peer)
  let peerWeb: PeerWeb | null = null
  try {
    if (web != null) {
      const listen = parseListenAddress(web, DEFAULT_WEB_PORT)
      peerWeb = await startPeerWeb(peer, { listen, downloads: options.downloads, share: options.share, data: options.data })
      announceWeb(out, 'web UI', peerWeb.server, listen.host)
    }
  } catch (err) {
    await closeMetrics?.()
    throw err
  }
  return {
    web: peerWeb,
    close: async () => {
      await peerWeb?.close().catch(() => {})
      await closeMetrics?.().catch(() => {})
    }
  }
}

/** The master's dashboard and /metrics-only server, when asked. */
export async function startMasterWebIfWanted (master: Master, web: string | null, metricsAddr: string | null, maxReservations: number | undefined, out: Output): Promise<() => Promise<void>> {
  const closeMetrics = await startMetricsIfWanted(metricsAddr, out, 'master')
  if (metricsAddr != null) registerMasterGauges(enablePrometheus('master'), masterView(master))
  let dashboard: Awaited<ReturnType<typeof startMasterWeb>> | null = null
  try {
    if (web != null) {
      const listen = parseListenAddress(web, DEFAULT_MASTER_WEB_PORT)
      dashboard = await startMasterWeb(master, { listen, maxReservations })
      announceWeb(out, 'dashboard', dashboard.server, listen.host)
    }
  } catch (err) {
    await closeMetrics?.()
    throw err
  }
  return async () => {
    await dashboard?.close().catch(() => {})
    await closeMetrics?.().catch(() => {})
  }
}

/** Prints the `web` event: the URL to open (with the token) and the token alone for scripts. */
export function announceWeb (out: Output, what: string, server: WebServer, host: string): void {
  if (!isLoopback(host)) out.warn(`the ${what} listens on ${host}: anyone who can reach it and has the token can use it (no TLS)`)
  out.event('web', { url: server.url, token: server.token, open: server.urlWithToken },
    `${what}: open ${server.urlWithToken}\n  (scripts: Authorization: Bearer ${server.token})`)
}
