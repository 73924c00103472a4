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
import { distance } from './command.js'
import { MASTER_DEFAULTS, PEER_DEFAULTS, type MasterDefaults, type PeerDefaults } from '../defaults.js'

export type MasterConfig = MasterDefaults
export type PeerConfig = PeerDefaults

/** The package's config/ folder (dist/cli/config.js → ../../config; the test build sits one level deeper). */
export const DEFAULT_CONFIG_DIR: string | null = ['../../config/', '../../../config/']
  .map(rel => fileURLToPath(new URL(rel, import.meta.url)))
  .find(dir => existsSync(`${dir}peer.json`)) ?? null

/**
 * Every file is checked against the schema (CONFIG_SCHEMA, rules inferred from the defaults
 * for keys it does not list): a wrong type or range is a USAGE error naming the file and the
 * key; an unknown key is reported to `onWarning` (with a "did you mean") and ignored.
 */
export function loadConfig (kind: 'master', file?: string, onWarning?: (message: string) => void): MasterConfig
export function loadConfig (kind: 'peer', file?: string, onWarning?: (message: string) => void): PeerConfig
export function loadConfig (kind: 'master' | 'peer', file?: string, onWarning?: (message: string) => void): MasterConfig | PeerConfig {
  const defaults = (kind === 'master' ? MASTER_DEFAULTS : PEER_DEFAULTS) as unknown as Record<string, unknown>
  let config: Record<string, unknown> = structuredClone(defaults) as any
  const shipped = DEFAULT_CONFIG_DIR != null ? `${DEFAULT_CONFIG_DIR}${kind}.json` : null
  for (const path of [shipped != null && existsSync(shipped) ? shipped : null, file ?? null]) {
    if (path == null) continue
    const value = readJson(path)
    const known = validate(value, defaults, CONFIG_SCHEMA[kind], `config ${path}:`, onWarning ?? (() => {}))
    config = mergeConfig(config, known)
  }
  return config as any
}

/** A rule for one config key. */
export type ConfigRule =
  | { type: 'string', nullable?: boolean }
  | { type: 'strings' }
  | { type: 'int', min: number, max?: number, nullable?: boolean }
  | { type: 'boolean' }
  | { type: 'enum', values: readonly string[] }
  | { type: 'object', keys: Record<string, ConfigRule> }

const ms = (min = 0): ConfigRule => ({ type: 'int', min })
/**
 * The config schema; a key in the defaults but not here gets a rule inferred from its
 * default's type (add a row for ranges and nullability).
 */
export const CONFIG_SCHEMA: Record<'master' | 'peer', Record<string, ConfigRule>> = {
  master: {
    listen: { type: 'strings' },
    announce: { type: 'strings' },
    data: { type: 'string' },
    maxConnections: { type: 'int', min: 1 },
    providerGraceMs: ms(),
    maxFilesPerPeer: { type: 'int', min: 1 },
    requestTimeoutMs: ms(1),
    requestsPerSecond: { type: 'int', min: 1 },
    requestBurst: { type: 'int', min: 1 },
    dialBackPerIpPerMinute: { type: 'int', min: 1 },
    relay: {
      type: 'object',
      keys: { maxReservations: { type: 'int', min: 0 }, dataLimit: { type: 'int', min: 0 }, durationLimit: ms(), reservationTtl: { type: 'int', min: 1 } }
    }
  },
  peer: {
    master: { type: 'string', nullable: true },
    listen: { type: 'strings' },
    announce: { type: 'strings' },
    data: { type: 'string' },
    maxUploads: { type: 'int', min: 1 },
    maxUploadRate: { type: 'int', min: 0, nullable: true },
    maxDownloadRate: { type: 'int', min: 0, nullable: true },
    requestsInFlight: { type: 'int', min: 1, max: 256 },
    reachability: { type: 'enum', values: ['auto', 'public', 'relayed'] },
    watch: { type: 'boolean' },
    settleMs: ms(),
    rescanIntervalMs: ms(),
    streamIdleTimeoutMs: ms(1),
    upload: { type: 'boolean' }
  }
}

function inferRule (value: unknown): ConfigRule | null {
  if (typeof value === 'string') return { type: 'string' }
  if (typeof value === 'boolean') return { type: 'boolean' }
  if (typeof value === 'number') return { type: 'int', min: 0 }
  if (Array.isArray(value)) return { type: 'strings' }
  if (value === null) return { type: 'string', nullable: true }
  if (isPlainObject(value)) return { type: 'object', keys: {} }
  return null
}

function describeRule (rule: ConfigRule): string {
  switch (rule.type) {
    case 'string': return rule.nullable === true ? 'a string or null' : 'a string'
    case 'strings': return 'a list of strings'
    case 'int': return `a whole number${rule.max != null ? ` from ${rule.min} to ${rule.max}` : ` of at least ${rule.min}`}${rule.nullable === true ? ' or null' : ''}`
    case 'boolean': return 'true or false'
    case 'enum': return rule.values.map(v => JSON.stringify(v)).join(', ').replace(/, ([^,]*)$/, ' or $1')
    case 'object': return 'an object'
  }
}

function fits (rule: ConfigRule, value: unknown): boolean {
  switch (rule.type) {
    case 'string': return typeof value === 'string' || (rule.nullable === true && value === null)
    case 'strings': return Array.isArray(value) && value.every(v => typeof v === 'string')
    case 'int': return (rule.nullable === true && value === null) || (typeof value === 'number' && Number.isInteger(value) && value >= rule.min && (rule.max == null || value <= rule.max))
    case 'boolean': return typeof value === 'boolean'
    case 'enum': return typeof value === 'string' && rule.values.includes(value)
    case 'object': return isPlainObject(value)
  }
}

/** The keys of `value` that are known, checked; unknown ones reported and dropped. */
function validate (value: Record<string, unknown>, defaults: Record<string, unknown>, schema: Record<string, ConfigRule>, where: string, onWarning: (message: string) => void, prefix = ''): Record<string, unknown> {
  const known: Record<string, unknown> = {}
  const names = [...new Set([...Object.keys(schema), ...Object.keys(defaults)])]
  for (const [key, v] of Object.entries(value)) {
    const rule = schema[key] ?? (Object.hasOwn(defaults, key) ? inferRule(defaults[key]) : null)
    if (rule == null) {
      const near = names.map(n => [n, distance(key.toLowerCase(), n.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0]
      onWarning(`${where} unknown key "${prefix}${key}" ignored${near != null && near[1] <= Math.max(1, Math.floor(near[0].length / 3)) ? ` (did you mean "${prefix}${near[0]}"?)` : ''}`)
      continue
    }
    if (!fits(rule, v)) {
      throw new FileShareError('USAGE', `${where} "${prefix}${key}" must be ${describeRule(rule)}, not ${JSON.stringify(v)}`)
    }
    known[key] = rule.type === 'object'
      ? validate(v as Record<string, unknown>, (isPlainObject(defaults[key]) ? defaults[key] : {}) as Record<string, unknown>, rule.keys, where, onWarning, `${prefix}${key}.`)
      : v
  }
  return known
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
