/**
 * Configuration files: config/master.json and config/peer.json ship with the package as
 * defaults; `--config FILE` overrides their keys (nested objects such as `relay` key by
 * key). Command-line flags override either.
 */
import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FileShareError } from './errors.js'
import type { RelayServerConfig, TransportName, EncrypterName } from './node/create-node.js'
import type { ReachabilityMode } from './types.js'

export interface MasterConfig {
  listen: string[]
  announce: string[]
  /** 'tcp' and/or 'quic' (default both): listen addresses of a transport left out are ignored */
  transports?: TransportName[]
  /** TCP encrypters in order of preference: 'tls', 'noise' */
  encrypters?: EncrypterName[]
  data: string
  maxConnections: number
  providerGraceMs: number
  maxFilesPerPeer: number
  requestTimeoutMs?: number
  requestsPerSecond?: number
  requestBurst?: number
  /** dial-back checks served per minute to one remote IP (default 60) */
  dialBackPerIpPerMinute?: number
  relay: RelayServerConfig
}

export interface PeerConfig {
  master: string | null
  listen: string[]
  announce: string[]
  /** 'tcp' and/or 'quic' (default both): listen addresses of a transport left out are ignored */
  transports?: TransportName[]
  /** TCP encrypters in order of preference: 'tls', 'noise' */
  encrypters?: EncrypterName[]
  data: string
  maxUploads: number
  requestsInFlight: number
  /** follow the shared folder with fs.watch (default true) */
  watch?: boolean
  /** full rescan period of the shared folder, ms (0 = never) */
  rescanIntervalMs?: number
  /** a file is hashed only once its size and mtime stayed unchanged this long, ms */
  settleMs?: number
  /** an inbound fetch stream idle this long is closed, ms */
  streamIdleTimeoutMs?: number
  /** 'auto' | 'public' | 'relayed': see README "Reachability / NAT" */
  reachability?: ReachabilityMode
  /** ms a download waits for a hole punch before it starts on the relay (0 = start at once, move later) */
  holePunchWaitMs?: number
}

/** The package's config/ folder (dist/config.js → ../config; the test build sits one level deeper). */
export const DEFAULT_CONFIG_DIR = ['../config/', '../../config/']
  .map(rel => fileURLToPath(new URL(rel, import.meta.url)))
  .find(dir => existsSync(`${dir}peer.json`)) ?? fileURLToPath(new URL('../config/', import.meta.url))

export function loadConfig<T> (kind: 'master' | 'peer', file?: string): T {
  const defaults = readJson(`${DEFAULT_CONFIG_DIR}${kind}.json`)
  if (file == null) return defaults as T
  return mergeConfig(defaults, readJson(file)) as T
}

/** `over` on top of `base`; plain objects are merged key by key, anything else replaces. */
function mergeConfig (base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(over)) {
    const old = merged[key]
    merged[key] = isPlainObject(old) && isPlainObject(value) ? mergeConfig(old, value) : value
  }
  return merged
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value)
}

function readJson (path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err: any) {
    throw new FileShareError('USAGE', `cannot read config ${path}: ${err?.code ?? err}`)
  }
  try {
    const value = JSON.parse(text)
    if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object')
    return value
  } catch (err: any) {
    throw new FileShareError('USAGE', `config ${path} is not a JSON object: ${err?.message ?? err}`)
  }
}
