/**
 * `node dist/peer.js --share DIR …`, `node dist/peer.js search WORDS…`,
 * `node dist/peer.js get ID|NAME …`: see PEER_USAGE.
 */
import { createPeer, type Peer } from '../peer/peer.js'
import { FileShareError } from '../errors.js'
import { Output, formatBytes } from './output.js'
import { printable } from './printable.js'
import { ProgressBar } from './progress.js'
import { parse, onShutdownSignal, transportsOption, type Options } from './args.js'
import { loadConfig, masterAddress, type PeerConfig } from './config.js'
import type { PeerOptions } from '../peer/peer.js'
import { REACHABILITY_SETTLE_MS } from '../peer/tuning.js'

export const PEER_USAGE = `usage:
  node dist/peer.js --share DIR [--master MA] [--listen MA]... [--announce MA]... [--transport tcp,quic] [--max-uploads N] [--data DIR] [--config FILE] [--json]
  node dist/peer.js search WORDS... [--master MA] [--transport tcp,quic] [--limit N] [--data DIR] [--config FILE] [--json]
  node dist/peer.js get ID|NAME [--master MA] [--from PEER_MA] [--out DIR] [--listen MA]... [--transport tcp,quic] [--seed [--announce MA]... [--max-uploads N]] [--data DIR] [--config FILE] [--json]`

const COMMON: Options = {
  master: { type: 'string' },
  transport: { type: 'string', multiple: true },
  config: { type: 'string' },
  data: { type: 'string' },
  json: { type: 'boolean' }
}
const SHARE: Options = {
  ...COMMON,
  share: { type: 'string' },
  listen: { type: 'string', multiple: true },
  announce: { type: 'string', multiple: true },
  'max-uploads': { type: 'string' }
}
const SEARCH: Options = { ...COMMON, limit: { type: 'string' } }
const GET: Options = {
  ...COMMON,
  from: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'boolean' },
  listen: { type: 'string', multiple: true },
  announce: { type: 'string', multiple: true },
  'max-uploads': { type: 'string' }
}

/** The value of option `name` as a positive whole number (undefined when not given). */
function positiveInt (values: Record<string, any>, name: string): number | undefined {
  const text = values[name]
  if (text == null) return undefined
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1) throw new FileShareError('USAGE', `--${name} takes a positive whole number`)
  return n
}

export async function runPeer (argv: string[]): Promise<number> {
  const out = new Output(argv.includes('--json'))
  try {
    const command = argv[0]
    if (command === 'search') return await search(argv.slice(1), out)
    if (command === 'get') return await get(argv.slice(1), out)
    return await share(argv, out)
  } catch (err) {
    return out.fail(err)
  }
}

async function share (argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, SHARE, PEER_USAGE)
  if (values.help === true) return help()
  if (positionals.length > 0) throw new FileShareError('USAGE', `unknown command ${positionals[0]}\n${PEER_USAGE}`)
  if (values.share == null) throw new FileShareError('USAGE', `nothing to do: pass --share DIR, or a command\n${PEER_USAGE}`)
  const controller = new AbortController()
  const shutdown = onShutdownSignal(controller)
  const config = loadConfig('peer', values.config)
  const peer = await createPeer({
    ...peerOptions(config, values),
    share: values.share,
    listen: values.listen ?? config.listen,
    maxUploads: positiveInt(values, 'max-uploads') ?? config.maxUploads,
    data: values.data ?? config.data,
    onWarning: message => { out.warn(message) }
  })
  if (peer.master == null) out.warn('no master configured: serving only peers that know this address')
  // a verdict (public, or relayed through the master) first, unless it takes too long
  const reach = await Promise.race([peer.reachabilitySettled(REACHABILITY_SETTLE_MS), shutdown.then(() => peer.reachability())])
  const addrs = peer.addrs()
  out.event('ready', { peerId: peer.peerId, addrs, files: peer.catalog.size, master: peer.master?.addr.toString() ?? null, reachability: reach.reachability, reachableAddrs: reach.addrs },
    `peer ${peer.peerId} sharing ${peer.catalog.size} files from ${values.share}\nreachable at:\n${addrs.map(a => `  ${a}`).join('\n')}\nreachability: ${describeReachability(reach)}`)
  reportReachabilityChanges(peer, out)
  const signal = await shutdown
  await peer.stop()
  out.event('stopped', { signal }, `stopped (${signal})`)
  return 0
}

async function search (argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, SEARCH, PEER_USAGE)
  if (values.help === true) return help()
  if (positionals.length === 0) throw new FileShareError('USAGE', `search needs words\n${PEER_USAGE}`)
  const limit = positiveInt(values, 'limit')
  return await withClient(loadConfig('peer', values.config), values, {}, out, async peer => {
    const query = positionals.join(' ')
    const results = await peer.search(query, { limit })
    if (results.length === 0) throw new FileShareError('NOT_FOUND', `no shared file matches ${JSON.stringify(query)}`)
    for (const r of results) {
      out.event('result', { id: r.id, name: r.name, path: r.path, size: r.size, providers: r.providers },
        `${r.id}  ${formatBytes(r.size).padStart(10)}  ${String(r.providers).padStart(3)} provider(s)  ${printable(r.path)}`)
    }
    return 0
  })
}

async function get (argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parse(argv, GET, PEER_USAGE)
  if (values.help === true) return help()
  if (positionals.length !== 1) throw new FileShareError('USAGE', `get takes one ID or NAME\n${PEER_USAGE}`)
  const target = positionals[0]
  const seed = values.seed === true
  if (!seed && (values.announce != null || values['max-uploads'] != null)) {
    throw new FileShareError('USAGE', `--announce and --max-uploads go with --seed\n${PEER_USAGE}`)
  }
  const maxUploads = seed ? positiveInt(values, 'max-uploads') : undefined
  const controller = new AbortController()
  const shutdown = onShutdownSignal(controller)
  // get listens (config addresses unless --listen): a provider behind a NAT can then dial us
  // back so data flows direct instead of relayed, and a seeding get is reachable
  const config = loadConfig('peer', values.config)
  return await withClient(config, values, { listen: values.listen ?? config.listen, maxUploads: maxUploads ?? config.maxUploads }, out, async peer => {
    const bar = ProgressBar.enabled(out.json) ? new ProgressBar(printable(target)) : null
    try {
      const result = await peer.get(target, {
        out: values.out,
        from: values.from,
        seed,
        signal: controller.signal,
        onEvent: event => {
          if (event.event === 'progress') {
            out.event('progress', { id: event.id, bytes: event.bytes, total: event.total, providers: event.providers })
            bar?.update(event.bytes, event.total, event.providers.length)
          } else if (event.event === 'checking') {
            out.event('checking', { id: event.id, chunks: event.chunks })
            if (!out.json) process.stderr.write(`checking ${event.chunks} chunk(s) left by an earlier run…\n`)
          } else if (event.event === 'resumed') {
            out.event('resumed', { id: event.id, bytes: event.bytes, chunks: event.chunks })
            if (!out.json) process.stderr.write(`resuming: ${formatBytes(event.bytes)} already verified on disk\n`)
          } else {
            out.event(event.event, { id: event.id, peer: event.peer, reason: event.reason })
            if (!out.json) process.stderr.write(`provider ${printable(event.peer)} dropped: ${printable(event.reason)}\n`)
          }
        }
      })
      bar?.stop()
      out.event('done', { id: result.id, path: result.path, bytes: result.bytes, seconds: result.seconds, providers: result.providers },
        `${printable(result.path)}: ${formatBytes(result.bytes)} verified in ${result.seconds.toFixed(2)} s from ${result.providers.length} provider(s)`)
      if (seed) {
        out.event('seeding', { id: result.id, path: result.path, peerId: peer.peerId, addrs: peer.addrs() },
          `seeding ${printable(result.path)} as ${peer.peerId} until interrupted (Ctrl-C)`)
        reportReachabilityChanges(peer, out)
        const signal = await shutdown
        out.event('stopped', { signal }, `stopped (${signal})`)
      }
      return 0
    } finally {
      bar?.stop()
    }
  }, values.master != null || values.from == null)
}

/** Options every command takes from the config, the environment and the common flags. */
function peerOptions (config: PeerConfig, values: Record<string, any>): PeerOptions {
  return {
    master: masterAddress(values.master, process.env, config),
    announce: values.announce ?? config.announce,
    transports: transportsOption(values) ?? config.transports,
    encrypters: config.encrypters,
    holePunchWaitMs: config.holePunchWaitMs,
    requestsInFlight: config.requestsInFlight,
    reachability: config.reachability,
    watch: config.watch,
    settleMs: config.settleMs,
    rescanIntervalMs: config.rescanIntervalMs,
    streamIdleTimeoutMs: config.streamIdleTimeoutMs
  }
}

/** A throwaway peer for one command (a persistent key only with --data); `extra` on top of the config. */
async function withClient (config: PeerConfig, values: Record<string, any>, extra: PeerOptions, out: Output, run: (peer: Peer) => Promise<number>, needsMaster = true): Promise<number> {
  const peer = await createPeer({
    ...peerOptions(config, values),
    data: values.data ?? null,
    listen: [],
    ...extra,
    // only a seeding get serves and registers: the warnings of those parts
    onWarning: message => { out.warn(message) }
  })
  try {
    if (needsMaster && peer.master == null) {
      throw new FileShareError('NO_MASTER', 'no master configured: pass --master, set FILESHARE_MASTER or config/peer.json "master"')
    }
    return await run(peer)
  } finally {
    await peer.stop()
  }
}

/** Prints a `reachability` event on every change (the manager reports changes only). */
function reportReachabilityChanges (peer: Peer, out: Output): void {
  peer.onReachabilityChange(state => {
    out.event('reachability', { reachability: state.reachability, addrs: state.addrs }, `reachability: ${describeReachability(state)}`)
  })
}

function describeReachability (state: { reachability: string, addrs: string[] }): string {
  return printable(state.addrs.length > 0 ? `${state.reachability} (${state.addrs.join(', ')})` : state.reachability)
}

function help (): number {
  process.stdout.write(PEER_USAGE + '\n')
  return 0
}
