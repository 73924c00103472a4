/**
 * The command-line contract in tables: every command is a CommandSpec with one option table
 * (an OptionSpec per row: name, value, meaning, default), from which parsing, per-command
 * help and "did you mean" suggestions are derived. Adding an option is adding a row.
 *
 * This module (like every command module's top level) loads no libp2p code: `--help` and
 * `--version` answer before anything heavy is imported; a command's `run` imports what it
 * needs dynamically.
 */
import { parseArgs } from 'node:util'
import { basename, relative, isAbsolute } from 'node:path'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { FileShareError } from '../errors.js'
import type { Output } from './output.js'

export interface OptionSpec {
  /** long name without the dashes */
  name: string
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** placeholder of the value in help (`MA`, `DIR`, `N`) */
  value?: string
  /** one line: what it does */
  help: string
  /** the default as help shows it */
  default?: string
}

export interface ParsedArgs {
  values: Record<string, any>
  positionals: string[]
}

export interface CommandSpec {
  /** '' for the default command of a program (the sharing peer, the master) */
  name: string
  /** positional arguments as help shows them, e.g. `ID|NAME...` */
  args?: string
  summary: string
  options: OptionSpec[]
  /** further paragraphs of help */
  notes?: string[]
  /** command lines without the program name */
  examples: string[]
  /** environment variables the command reads: name → meaning */
  env?: Record<string, string>
  run: (args: ParsedArgs, out: Output) => Promise<number>
}

/** Options every peer command takes. */
/** `--transport tcp|quic|tcp,quic`: the master and every peer command take it. */
export const TRANSPORT_OPTION: OptionSpec = { name: 'transport', type: 'string', multiple: true, value: 'T', help: 'transports to use: tcp, quic or tcp,quic (listen addresses of the others are ignored)', default: '"transports" of the config: tcp,quic' }

export const COMMON_PEER_OPTIONS: OptionSpec[] = [
  { name: 'master', type: 'string', value: 'MA', help: 'the master\'s multiaddr, ending in /p2p/<PeerId>', default: '$FILESHARE_MASTER, then "master" of the config' },
  { name: 'data', type: 'string', value: 'DIR', help: 'folder for the key (a stable PeerId)', default: 'a throwaway key' },
  { name: 'config', type: 'string', value: 'FILE', help: 'JSON file whose keys override config/peer.json' },
  { name: 'json', type: 'boolean', help: 'JSON lines on stdout instead of text' },
  TRANSPORT_OPTION
]

export const MASTER_ENV = { FILESHARE_MASTER: 'the master\'s multiaddr when --master is not given' }

const HELP: OptionSpec = { name: 'help', short: 'h', type: 'boolean', help: 'print this help' }

/** How the user ran the program: `fileshare-peer` when run through the installed command, else `node <script>`. */
export function programName (kind: 'peer' | 'master', argv1: string | undefined = process.argv[1]): string {
  if (argv1 == null || argv1 === '') return `node dist/${kind}.js`
  const base = basename(argv1)
  if (!base.endsWith('.js') && !base.endsWith('.ts')) return base
  const rel = isAbsolute(argv1) ? relative(process.cwd(), argv1) : argv1
  return `node ${rel.startsWith('..') || rel === '' ? argv1 : rel}`
}

/** The package version (package.json beside dist/ or build/). */
export function version (): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8'))
      if (pkg?.name === 'fileshare') return String(pkg.version)
    } catch {}
  }
  return 'unknown'
}

/** Edit distance, for "did you mean". */
export function distance (a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]
}

/** The closest of `candidates` to `word` when close enough to be a typo, else null. */
export function suggest (word: string, candidates: string[]): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) { best = c; bestDistance = d }
  }
  return best != null && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : null
}

function usageError (message: string, helpHint: string): FileShareError {
  return new FileShareError('USAGE', `${message}; see ${helpHint}`)
}

/**
 * Parses `argv` against the command's table. Every mistake is a USAGE error of one line
 * naming the option and what it expects (with a "did you mean" for a typo).
 */
export function parseCommand (spec: CommandSpec, argv: string[], helpHint: string): ParsedArgs {
  const table = [...spec.options, HELP]
  const byName = new Map(table.map(o => [o.name, o]))
  const byShort = new Map(table.filter(o => o.short != null).map(o => [o.short as string, o]))
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') break
    if (!token.startsWith('-') || token === '-') continue
    let option: OptionSpec | undefined
    let inlineValue = false
    if (token.startsWith('--')) {
      const name = token.slice(2).split('=')[0]
      inlineValue = token.includes('=')
      option = byName.get(name)
      if (option == null) {
        const near = suggest(name, table.map(o => o.name))
        throw usageError(`unknown option --${name}${spec.name !== '' ? ` for ${spec.name}` : ''}${near != null ? ` (did you mean --${near}?)` : ''}`, helpHint)
      }
    } else {
      option = byShort.get(token.slice(1, 2))
      if (option == null || token.length > 2) throw usageError(`unknown option ${token}`, helpHint)
    }
    if (option.type === 'boolean') {
      if (inlineValue) throw usageError(`--${option.name} takes no value`, helpHint)
      continue
    }
    if (inlineValue) continue
    const next = argv[i + 1]
    if (next == null || (next.startsWith('--') && byName.has(next.slice(2).split('=')[0]))) {
      throw usageError(`--${option.name} needs a value (${option.value ?? 'VALUE'})`, helpHint)
    }
    i++
  }
  const options: Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string }> = {}
  for (const o of table) options[o.name] = { type: o.type, ...(o.multiple === true ? { multiple: true } : {}), ...(o.short != null ? { short: o.short } : {}) }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
    for (const o of spec.options) {
      const v = values[o.name]
      if (o.multiple !== true && Array.isArray(v)) throw usageError(`--${o.name} is given more than once`, helpHint)
    }
    return { values, positionals }
  } catch (err: any) {
    if (err instanceof FileShareError) throw err
    // parseArgs' own wording quotes oddly: keep its first sentence only
    const first = String(err?.message ?? err).split('. ')[0].replace(/'/g, '')
    throw usageError(first, helpHint)
  }
}

function optionLabel (o: OptionSpec): string {
  const long = `--${o.name}${o.value != null ? ` ${o.value}` : ''}`
  return o.short != null ? `-${o.short}, ${long}` : long
}

/** The help of one command: usage, summary, every option with its default, environment, examples. */
export function formatHelp (program: string, spec: CommandSpec): string {
  const name = spec.name !== '' ? `${spec.name} ` : ''
  const lines = [`usage: ${program} ${name}${spec.args != null ? `${spec.args} ` : ''}[options]`, '', wrap(spec.summary, 80)]
  for (const note of spec.notes ?? []) lines.push('', wrap(note, 80))
  const rows = [...spec.options, HELP].map(o => {
    const text = o.help + (o.multiple === true ? '; repeatable' : '') + (o.default != null ? ` (default: ${o.default})` : '')
    return [optionLabel(o), text]
  })
  const width = Math.min(28, Math.max(...rows.map(r => r[0].length)) + 2)
  lines.push('', 'options:')
  for (const [label, text] of rows) {
    lines.push(label.length + 2 > width ? `  ${label}\n  ${' '.repeat(width)}${text}` : `  ${label.padEnd(width)}${text}`)
  }
  const env = Object.entries(spec.env ?? {})
  if (env.length > 0) {
    lines.push('', 'environment:')
    for (const [k, v] of env) lines.push(`  ${k.padEnd(Math.max(width, k.length + 2))}${v}`)
  }
  if (spec.examples.length > 0) {
    lines.push('', 'examples:')
    for (const e of spec.examples) lines.push(`  ${program} ${e}`)
  }
  return lines.join('\n') + '\n'
}

/** `text` broken at spaces into lines of at most `width` columns. */
function wrap (text: string, width: number): string {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines.join('\n')
}
