/**
 * The command-line side of the web UI and metrics: `--web [ADDR]`, `--downloads DIR` and
 * `--metrics ADDR` (and their config keys `web`, `downloads`, `metrics`), shared by the
 * peer commands and the master.
 */
import type { Options } from './args.js'
import type { Output } from './output.js'
import { parseListenAddress, isLoopback, type WebServer } from '../web/http.js'
import { startPeerWeb, registerPeerGauges, type PeerWeb } from '../web/peer-web.js'
import type { Peer } from '../peer/peer.js'
import { enablePrometheus } from '../metrics/prometheus.js'
import { startMetricsServer } from '../metrics/server.js'

/** Default web port (the next free one is taken when it is busy and no port was given). */
export const DEFAULT_WEB_PORT = 7777
export const DEFAULT_MASTER_WEB_PORT = 7780
/** the port Prometheus exporters of this kind commonly use */
export const DEFAULT_METRICS_PORT = 9464

export const WEB_OPTIONS: Options = {
  web: { type: 'string' },
  downloads: { type: 'string' },
  metrics: { type: 'string' }
}

export interface WebKeys {
  /** web UI address (HOST:PORT, PORT or HOST), or null for none */
  web?: string | null
  /** the folder downloads started from the web UI go under */
  downloads?: string
  /** address of a /metrics-only server, or null */
  metrics?: string | null
}

/**
 * `--web` takes an optional address: a bare `--web` (last, or followed by an option or
 * by something that is no address) becomes `--web=` (the default address).
 */
export function optionalWebValue (argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--web') {
      const next = argv[i + 1]
      if (next != null && looksLikeAddress(next)) {
        out.push(`--web=${next}`)
        i++
      } else {
        out.push('--web=')
      }
    } else {
      out.push(arg)
    }
  }
  return out
}

function looksLikeAddress (text: string): boolean {
  return /^\d+$/.test(text) || /^(https?:\/\/)?(\[[0-9a-f:.]+\]|[\w.-]+):\d+\/?$/i.test(text) || text === 'localhost' || /^\d+\.\d+\.\d+\.\d+$/.test(text)
}

/** The web address asked for (flag, then config), or null for no web UI; checked before anything starts. */
export function webAddress (values: Record<string, any>, config: WebKeys): string | null {
  const web = values.web != null ? values.web as string : config.web ?? null
  if (web != null) parseListenAddress(web, DEFAULT_WEB_PORT)
  return web
}

export function metricsAddress (values: Record<string, any>, config: WebKeys): string | null {
  const addr = (values.metrics as string | undefined) ?? config.metrics ?? null
  if (addr != null) parseListenAddress(addr, DEFAULT_METRICS_PORT)
  return addr
}

/** Prometheus metrics must be on before the libp2p node is created (it takes them at creation). */
export function enableMetricsIfWanted (web: string | null, metricsAddr: string | null, role: 'master' | 'peer'): void {
  if (web != null || metricsAddr != null) enablePrometheus(role)
}

/** Starts the /metrics-only server when asked; prints where it is. */
export async function startMetricsIfWanted (metricsAddr: string | null, out: Output, role: 'master' | 'peer'): Promise<(() => Promise<void>) | null> {
  if (metricsAddr == null) return null
  const sink = enablePrometheus(role)
  const server = await startMetricsServer(sink, parseListenAddress(metricsAddr, DEFAULT_METRICS_PORT))
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
  if (web != null) {
    const listen = parseListenAddress(web, DEFAULT_WEB_PORT)
    peerWeb = await startPeerWeb(peer, { listen, downloads: options.downloads, share: options.share, data: options.data })
    announceWeb(out, 'web UI', peerWeb.server, listen.host)
  }
  return {
    web: peerWeb,
    close: async () => {
      await peerWeb?.close().catch(() => {})
      await closeMetrics?.().catch(() => {})
    }
  }
}

/** Prints the `web` event: the URL to open (with the token) and the token alone for scripts. */
export function announceWeb (out: Output, what: string, server: WebServer, host: string): void {
  if (!isLoopback(host)) out.warn(`the ${what} listens on ${host}: anyone who can reach it and has the token can use it (no TLS)`)
  out.event('web', { url: server.url, token: server.token, open: server.urlWithToken },
    `${what}: open ${server.urlWithToken}\n  (scripts: Authorization: Bearer ${server.token})`)
}
