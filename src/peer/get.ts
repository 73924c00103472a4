/**
 * `peer.get()`: turns an id or a name into a content id and a first set of providers —
 * through the master, or straight from one peer (`from`, whose fetch server answers which
 * of its files carries a name) — and runs the download engine.
 */
import { resolve } from 'node:path'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { FileShareNode } from '../node/create-node.js'
import { FileShareError, toFileShareError } from '../errors.js'
import { isContentId, parseContentId, formatContentId } from '../content/content-id.js'
import { BUSY_MAX_RETRIES } from './download/tuning.js'
import type { MasterClient } from './master-client.js'
import { download, type DownloadEvent, type DownloadResult, type ProviderRef } from './download/download.js'
import { FetchSession, isBusy, waitBusy } from '../protocols/fetch/client.js'
import { openFetchStream } from './download/dial.js'
import type { SwarmMember } from './swarm.js'
import { CHUNK_SIZE } from '../content/constants.js'

export interface GetOptions {
  /** folder to write into (default: the current folder) */
  out?: string
  /** fetch from this peer (multiaddr ending in /p2p/<PeerId>, or just /p2p/<PeerId>) instead of asking the master */
  from?: string
  onEvent?: (event: DownloadEvent) => void
  /** called as each chunk verifies (index, provider PeerId) */
  onChunk?: (index: number, peer: string) => void
  /** when `out` already holds this content under its name, nothing is downloaded (the result says `existing: true`) */
  skipExisting?: boolean
  /** keep serving the file once it is complete (registered with the master) until stop() */
  seed?: boolean
  /** serve verified chunks to other downloaders while downloading (default: the peer's `upload`, true) */
  upload?: boolean
  /**
   * bytes per second this download requests from all its providers together; 0 = unlimited
   * @default the peer's maxDownloadRate (unlimited)
   */
  maxDownloadRate?: number
  /** how often to ask the master for new providers during the download (ms) */
  providerRefreshMs?: number
  signal?: AbortSignal
}

export interface GetContext {
  node: FileShareNode
  /** the master client, or a function that throws NO_MASTER */
  requireMaster: () => MasterClient
  requestsInFlight: number
  /** serve while downloading and find the other downloaders (swarm.ts) */
  swarm?: SwarmMember
  /** the peer's default download limit (bytes/s; 0 or undefined = unlimited) */
  maxDownloadRate?: number
}

/** Resolves `idOrName` and downloads it (nothing else: serving the result is the caller's). */
export async function getFile (ctx: GetContext, idOrName: string, options: GetOptions): Promise<DownloadResult> {
  const out = resolve(options.out ?? '.')
  let id: Uint8Array
  let name: string | undefined
  let providers: ProviderRef[]
  let refreshProviders: (() => Promise<ProviderRef[]>) | undefined
  let moreProviders: ((tried: PeerId[]) => Promise<ProviderRef[]>) | undefined
  if (options.from != null) {
    const from = await resolveFromAddr(ctx, options.from)
    if (isContentId(idOrName)) {
      id = parseContentId(idOrName)
    } else {
      const match = await resolveNameAt(ctx.node, from, idOrName, options.signal)
      id = match.id
      name = match.name
    }
    providers = [from]
  } else {
    const m = ctx.requireMaster()
    if (isContentId(idOrName)) {
      id = parseContentId(idOrName)
      const found = await m.providers(id)
      providers = found.providers
      name = found.file?.name
    } else {
      let hits = await m.findByName(idOrName)
      // names match case-insensitively, like search: an exact match first, else one that differs in case only
      if (hits.length === 0) hits = await caseInsensitiveMatches(m, idOrName)
      if (hits.length === 0) throw new FileShareError('NOT_FOUND', `no file named ${JSON.stringify(idOrName)} is shared by a live peer; try \`search ${idOrName.split(/[/\s]+/).pop() ?? idOrName}\``)
      if (hits.length > 1) throw ambiguous(idOrName, hits.map(h => `${h.id} ${h.path} (${h.size} bytes)`))
      id = parseContentId(hits[0].id)
      name = hits[0].name
      providers = (await m.providers(id)).providers
    }
    if (providers.length === 0) throw new FileShareError('NO_PROVIDER', `no live provider for ${formatContentId(id)}`)
    const wanted = id
    refreshProviders = async () => (await m.providers(wanted)).providers
    // every provider of an answer failed (Sybil keys, unreachable peers): ask for others
    moreProviders = async tried => (await m.providers(wanted, tried)).providers
  }
  const { swarm } = ctx
  const onEvent = options.onEvent
  try {
    const result = await download({
      node: ctx.node,
      id,
      name,
      outDir: out,
      providers: swarm?.initial(providers) ?? providers,
      refreshProviders: swarm != null ? swarm.refresh(refreshProviders) : refreshProviders,
      moreProviders,
      refreshIntervalMs: options.providerRefreshMs,
      requestsInFlight: ctx.requestsInFlight,
      maxDownloadRate: options.maxDownloadRate ?? ctx.maxDownloadRate,
      onEvent: onEvent != null && swarm != null ? e => { onEvent(e.event === 'progress' ? { ...e, uploadedBytes: swarm.uploaded() } : e) } : onEvent,
      onChunk: (index, peer) => {
        // (the last chunk may be shorter: credit ranks peers, it is not an account)
        ctx.swarm?.options.earn?.(peer, CHUNK_SIZE)
        options.onChunk?.(index, peer)
      },
      partial: swarm?.copy(id),
      swarmMembers: swarm != null ? () => swarm.members() : undefined,
      skipExisting: options.skipExisting,
      signal: options.signal
    })
    result.uploadedBytes = swarm?.uploaded() ?? 0
    return result
  } catch (err) {
    swarm?.withdraw()
    throw err
  }
}

/** `from`: a full multiaddr, or /p2p/<PeerId> (or the bare PeerId) whose addresses the master knows. */
export async function resolveFromAddr (ctx: Pick<GetContext, 'requireMaster'>, from: string, label = '--from'): Promise<ProviderRef> {
  let ma: Multiaddr
  try {
    ma = multiaddr(from.startsWith('/') ? from : `/p2p/${from}`)
  } catch (err: any) {
    throw new FileShareError('USAGE', `bad ${label} address ${from}: ${err?.message ?? err}`)
  }
  const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id == null) throw new FileShareError('USAGE', `${label} ${from} must end with /p2p/<PeerId>`)
  const peer = peerIdFromString(id)
  const bare = ma.getComponents().length === 1
  if (!bare) return { peer, addrs: [ma] }
  const addrs = await ctx.requireMaster().peerAddrs(peer)
  if (addrs.length === 0) throw new FileShareError('NOT_FOUND', `the master knows no address for ${id}`)
  return { peer, addrs }
}

/** Asks one peer which of its files carry `name` (again after a while when it is BUSY). */
async function resolveNameAt (node: FileShareNode, from: ProviderRef, fileName: string, signal?: AbortSignal): Promise<{ id: Uint8Array, name: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await resolveNameOnce(node, from, fileName)
    } catch (err: any) {
      if (!isBusy(err?.cause ?? err) || attempt >= BUSY_MAX_RETRIES) throw err
      await waitBusy(attempt, signal)
    }
  }
}

async function resolveNameOnce (node: FileShareNode, from: ProviderRef, fileName: string): Promise<{ id: Uint8Array, name: string }> {
  let session: FetchSession | null = null
  try {
    const { stream } = await openFetchStream(node, from)
    session = new FetchSession(stream)
    const matches = await session.resolve(fileName)
    const ids = new Map(matches.map(m => [formatContentId(m.id), m]))
    if (ids.size === 0) throw new FileShareError('NOT_FOUND', `${from.peer.toString()} shares no file named ${JSON.stringify(fileName)}`)
    if (ids.size > 1) throw ambiguous(fileName, [...ids].map(([text, m]) => `${text} ${m.path} (${m.size} bytes)`))
    const match = [...ids.values()][0]
    return { id: match.id, name: match.path.split('/').pop() ?? fileName }
  } catch (err) {
    throw toFileShareError(err, 'NETWORK')
  } finally {
    await session?.close()
  }
}

function ambiguous (name: string, candidates: string[]): FileShareError {
  return new FileShareError('AMBIGUOUS_NAME', `${JSON.stringify(name)} names ${candidates.length} different files; get one by id:\n  ${candidates.join('\n  ')}`, { details: { candidates } })
}

/** Files whose name or whole path equals `name` ignoring case (through a search of its words). */
async function caseInsensitiveMatches (m: MasterClient, name: string): Promise<Awaited<ReturnType<MasterClient['findByName']>>> {
  const words = name.split(/[^\p{L}\p{N}]+/u).filter(w => w !== '')
  if (words.length === 0) return []
  const lower = name.toLowerCase()
  const results = await m.search(words.join(' '), 100).catch(() => [])
  const byId = new Map(results.filter(r => r.name.toLowerCase() === lower || r.path.toLowerCase() === lower).map(r => [r.id, r]))
  return [...byId.values()]
}
