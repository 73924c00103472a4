/**
 * Configuration at the edge: the CLI resolves config files, the environment and flags once,
 * here, and hands `createMaster`/`createPeer` plain options (library code reads neither).
 *
 * Precedence, lowest first: the built-in defaults (src/defaults.ts), the shipped
 * config/master.json or config/peer.json (user-facing copies of those defaults; a missing
 * file is fine), `--config FILE` (nested objects such as `relay` merge key by key), the
 * environment (`FILESHARE_MASTER` for a peer's master), then command-line flags.
 */
import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FileShareError } from '../errors.js'
import { MASTER_DEFAULTS, PEER_DEFAULTS, type MasterDefaults, type PeerDefaults } from '../defaults.js'

export type MasterConfig = MasterDefaults
export type PeerConfig = PeerDefaults

/** The package's config/ folder (dist/cli/config.js → ../../config; the test build sits one level deeper). */
export const DEFAULT_CONFIG_DIR: string | null = ['../../config/', '../../../config/']
  .map(rel => fileURLToPath(new URL(rel, import.meta.url)))
  .find(dir => existsSync(`${dir}peer.json`)) ?? null

export function loadConfig (kind: 'master', file?: string): MasterConfig
export function loadConfig (kind: 'peer', file?: string): PeerConfig
export function loadConfig (kind: 'master' | 'peer', file?: string): MasterConfig | PeerConfig {
  let config: Record<string, unknown> = structuredClone(kind === 'master' ? MASTER_DEFAULTS : PEER_DEFAULTS) as any
  const shipped = DEFAULT_CONFIG_DIR != null ? `${DEFAULT_CONFIG_DIR}${kind}.json` : null
  if (shipped != null && existsSync(shipped)) config = mergeConfig(config, readJson(shipped))
  if (file != null) config = mergeConfig(config, readJson(file))
  return config as any
}

/** The master address of a peer: the flag, else FILESHARE_MASTER, else the config's `master`. */
export function masterAddress (flag: string | undefined, env: NodeJS.ProcessEnv, config: PeerConfig): string | null {
  return flag ?? env.FILESHARE_MASTER ?? config.master
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
