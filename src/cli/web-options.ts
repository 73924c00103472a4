/**
 * The command-line side of the web UI and metrics: `--web [ADDR]`, `--downloads DIR` and
 * `--metrics ADDR` (config keys `web`, `downloads`, `metrics`). Like every command module's
 * top level this loads no package: the servers start from web-start.ts, imported by `run`.
 */
import type { OptionSpec } from './command.js'
import { parseListenAddress } from '../web/address.js'

/** Default web port (the next free one is taken when it is busy and no port was given). */
export const DEFAULT_WEB_PORT = 7777
export const DEFAULT_MASTER_WEB_PORT = 7780
/** the port Prometheus exporters of this kind commonly use */
export const DEFAULT_METRICS_PORT = 9464

const METRICS_OPTION: OptionSpec = { name: 'metrics', type: 'string', value: 'ADDR', help: 'serve /metrics (Prometheus) alone at HOST:PORT, without a token', default: 'off ("metrics" of the config)' }

/** Options of the peer commands that can serve the web UI. */
export const PEER_WEB_OPTIONS: OptionSpec[] = [
  { name: 'web', type: 'string', value: '[ADDR]', help: 'serve the web UI and HTTP API (a token is printed); ADDR is HOST:PORT, PORT or HOST', default: 'off; without ADDR 127.0.0.1:7777 ("web" of the config)' },
  { name: 'downloads', type: 'string', value: 'DIR', help: 'downloads started from the web UI go into folders under DIR', default: '.fileshare/downloads ("downloads")' },
  METRICS_OPTION
]

export const MASTER_WEB_OPTIONS: OptionSpec[] = [
  { name: 'web', type: 'string', value: 'ADDR', help: 'serve the dashboard and its API at HOST:PORT (an admin token is printed)', default: 'off ("web" of config/master.json)' },
  METRICS_OPTION
]

/**
 * web-start.ts when a web UI or /metrics is wanted, else null: it loads the HTTP server and
 * Prometheus, which most runs (and every process a test starts) do not need.
 */
export async function webStartIfWanted (web: string | null, metricsAddr: string | null): Promise<typeof import('./web-start.js') | null> {
  return web != null || metricsAddr != null ? await import('./web-start.js') : null
}

/** What a run without a web UI or /metrics has to stop. */
export const NO_WEB = { web: null, close: async (): Promise<void> => {} }

export interface WebKeys {
  /** web UI address (HOST:PORT, PORT or HOST; '' = the default), or null for none */
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
export function webAddress (values: Record<string, any>, config: WebKeys, defaultPort = DEFAULT_WEB_PORT): string | null {
  const web = values.web != null ? values.web as string : config.web ?? null
  if (web != null) parseListenAddress(web, defaultPort)
  return web
}

export function metricsAddress (values: Record<string, any>, config: WebKeys): string | null {
  const addr = (values.metrics as string | undefined) ?? config.metrics ?? null
  if (addr != null) parseListenAddress(addr, DEFAULT_METRICS_PORT)
  return addr
}
