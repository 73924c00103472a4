/**
 * A FileShare peer: a libp2p node with a persistent key that (optionally) shares a folder
 * (scanner → catalog → fetch server, registration with the master) and downloads
 * (search, get) through the master or straight from a known peer.
 */
import { resolve, relative, isAbsolute, basename, sep } from 'node:path'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import { createNode, type FileShareNode, type TransportName, type EncrypterName } from '../node/create-node.js'
import { loadOrCreateKey } from '../node/key-store.js'
import { loadConfig, type PeerConfig } from '../config.js'
import { FileShareError, toFileShareError } from '../errors.js'
import { isContentId, parseContentId, formatContentId } from '../content/content-id.js'
import { BUSY_MAX_RETRIES } from './download/tuning.js'
import { Catalog } from './catalog.js'
import { startLiveShare, type LiveShare } from './share/live-share.js'
import type { ScanStats } from './share/scanner.js'
import { fetchServer } from '../protocols/fetch/index.js'
import { FetchSession, isBusy, waitBusy } from '../protocols/fetch/client.js'
import { MasterClient, type SearchResult } from './master-client.js'
import { Registration } from './registration.js'
import { download, type DownloadEvent, type DownloadResult, type ProviderRef } from './download/download.js'
import { openFetchStream } from './download/dial.js'
import { ReachabilityManager, DirectUpgrader, type ReachabilityMode, type ReachabilityState } from './reachability.js'

const log = logger('fileshare:peer')

export interface PeerOptions {
  /** folder to share (omit for a peer that only searches and downloads) */
  share?: string
  /** master multiaddr ending in /p2p/<PeerId>; default: FILESHARE_MASTER, then config */
  master?: string | null
  listen?: string[]
  announce?: string[]
  /** 'tcp' and/or 'quic' (default: config, both) */
  transports?: TransportName[]
  /** TCP encrypters in order of preference (default: config, else noise then tls) */
  encrypters?: EncrypterName[]
  /** ms a download waits for a hole punch before it starts on the relay (default: config, 1500) */
  holePunchWaitMs?: number
  /** folder for the key (default: config/peer.json); null = a throwaway key */
  data?: string | null
  config?: string
  maxUploads?: number
  /** chunk bytes per second this peer uploads in total (default: unlimited) */
  maxUploadRate?: number
  requestsInFlight?: number
  /** follow the shared folder with fs.watch (default: config, true) */
  watch?: boolean
  /** full rescan period of the shared folder in ms, 0 = never (default: config, 60 s) */
  rescanIntervalMs?: number
  /** a file is hashed once unchanged for this long, ms (default: config, 1 s) */
  settleMs?: number
  /** an inbound fetch stream idle this long is closed, ms (default: config, 30 s) */
  streamIdleTimeoutMs?: number
  /** 'auto' (dial-back check, relay reservation when not public), 'public' or 'relayed'; default: config */
  reachability?: ReachabilityMode
  /** registration problems and other notices */
  onWarning?: (message: string) => void
}

export interface GetOptions {
  /** folder to write into (default: the current folder) */
  out?: string
  /** fetch from this peer (multiaddr ending in /p2p/<PeerId>, or just /p2p/<PeerId>) instead of asking the master */
  from?: string
  onEvent?: (event: DownloadEvent) => void
  /** called as each chunk verifies (index, provider PeerId) */
  onChunk?: (index: number, peer: string) => void
  /** keep serving the file once it is complete (registered with the master) until stop() */
  seed?: boolean
  /** how often to ask the master for new providers during the download (ms) */
  providerRefreshMs?: number
  signal?: AbortSignal
}

export interface Peer {
  readonly node: FileShareNode
  readonly peerId: string
  addrs: () => string[]
  readonly catalog: Catalog
  /** null when no master is configured */
  readonly master: MasterClient | null
  /** true once the master holds this peer's full file list */
  registered: () => boolean
  /** waits until queued catalog changes have been sent to the master */
  flushRegistration: () => Promise<void>
  /** files hashed / taken from the hash cache / pending since start (null without --share) */
  shareStats: () => ScanStats | null
  /** rescans the shared folder now */
  rescan: () => Promise<number>
  /** serves a complete, verified file (a finished download) from this peer and registers it */
  seed: (result: Pick<DownloadResult, 'id' | 'path' | 'manifest'>) => Promise<void>
  /** uploads being served right now */
  activeUploads: () => number
  /** how other peers can reach this one (sharing peers with a master; else 'unknown') */
  reachability: () => ReachabilityState
  /** called whenever reachability changes; returns an unsubscribe function */
  onReachabilityChange: (listener: (state: ReachabilityState) => void) => () => void
  /** the reachability once it is 'public' or 'relayed', or whatever it is after `timeoutMs` */
  reachabilitySettled: (timeoutMs: number) => Promise<ReachabilityState>
  search: (words: string, options?: { limit?: number }) => Promise<SearchResult[]>
  get: (idOrName: string, options?: GetOptions) => Promise<DownloadResult>
  stop: () => Promise<void>
}

export async function createPeer (options: PeerOptions = {}): Promise<Peer> {
  const config = loadConfig<PeerConfig>('peer', options.config)
  const masterAddr = options.master !== undefined ? options.master : (process.env.FILESHARE_MASTER ?? config.master)
  const dataDir = options.data === null ? null : resolve(options.data ?? config.data)
  const shareDir = options.share != null ? resolve(options.share) : null
  const privateKey = dataDir != null ? await loadOrCreateKey(dataDir) : undefined
  let masterMa: Multiaddr | null = null
  if (masterAddr != null && masterAddr !== '') {
    try {
      masterMa = multiaddr(masterAddr)
    } catch (err: any) {
      throw new FileShareError('USAGE', `bad master address ${masterAddr}: ${err?.message ?? err}`)
    }
  }

  const catalog = new Catalog()
  const node = await createNode({
    privateKey,
    listen: shareDir != null ? (options.listen ?? config.listen) : (options.listen ?? []),
    announce: options.announce ?? config.announce,
    transports: options.transports ?? config.transports,
    encrypters: options.encrypters ?? config.encrypters,
    holePunchWaitMs: options.holePunchWaitMs ?? config.holePunchWaitMs,
    // a sharing peer announces a public address once the master's dial-back verified it;
    // a client (get) announces its listen addresses as they are: a NATed provider tries
    // them to dial it back (connection reversal), and a wrong one costs only that dial
    publicListenAddrs: shareDir == null,
    relayTransport: true,
    services: {
      // a libp2p service, stopped with the node; it registers its handler once this peer
      // has something to serve (startServing)
      fetch: fetchServer({
        catalog,
        maxUploads: options.maxUploads ?? config.maxUploads,
        maxUploadRate: options.maxUploadRate,
        idleTimeoutMs: options.streamIdleTimeoutMs ?? config.streamIdleTimeoutMs,
        serving: false
      })
    }
  })
  const master = masterMa != null ? new MasterClient(node, masterMa) : null
  let serving = false
  let registration: Registration | null = null
  let share: LiveShare | null = null
  let reachability: ReachabilityManager | null = null
  const upgrader = new DirectUpgrader(node)
  upgrader.start()

  /** Starts the fetch server, the registration with the master and reachability (once). */
  async function startServing (): Promise<void> {
    if (serving) return
    serving = true
    await node.services.fetch.serve()
    if (master != null) {
      registration = new Registration(node, master.peer, master.registry, catalog, { onError: options.onWarning })
      registration.start()
      reachability = new ReachabilityManager(node, master, options.reachability ?? config.reachability ?? 'auto', options.onWarning)
      reachability.start()
    }
  }

  try {
    if (shareDir != null) {
      share = await startLiveShare({
        root: shareDir,
        catalog,
        dataDir,
        settleMs: options.settleMs ?? config.settleMs,
        watch: options.watch ?? config.watch,
        rescanIntervalMs: options.rescanIntervalMs ?? config.rescanIntervalMs,
        onWarning: options.onWarning
      })
      await startServing()
    }
  } catch (err) {
    await share?.stop()
    upgrader.stop()
    await node.stop()
    throw err
  }

  const requireMaster = (): MasterClient => {
    if (master == null) throw new FileShareError('NO_MASTER', 'no master configured: pass --master, set FILESHARE_MASTER or config/peer.json "master"')
    return master
  }

  async function get (idOrName: string, getOptions: GetOptions = {}): Promise<DownloadResult> {
    const out = resolve(getOptions.out ?? '.')
    let id: Uint8Array
    let name: string | undefined
    let providers: ProviderRef[]
    let refreshProviders: (() => Promise<ProviderRef[]>) | undefined
    if (getOptions.from != null) {
      const from = await resolveFromAddr(getOptions.from)
      if (isContentId(idOrName)) {
        id = parseContentId(idOrName)
      } else {
        const match = await resolveNameAt(from, idOrName, getOptions.signal)
        id = match.id
        name = match.name
      }
      providers = [from]
    } else {
      const m = requireMaster()
      if (isContentId(idOrName)) {
        id = parseContentId(idOrName)
        const found = await m.providers(id)
        providers = found.providers
        name = found.file?.name
      } else {
        const hits = await m.findByName(idOrName)
        if (hits.length === 0) throw new FileShareError('NOT_FOUND', `no file named ${JSON.stringify(idOrName)} is shared by a live peer`)
        if (hits.length > 1) throw ambiguous(idOrName, hits.map(h => `${h.id} ${h.path} (${h.size} bytes)`))
        id = parseContentId(hits[0].id)
        name = hits[0].name
        providers = (await m.providers(id)).providers
      }
      if (providers.length === 0) throw new FileShareError('NO_PROVIDER', `no live provider for ${formatContentId(id)}`)
      const wanted = id
      refreshProviders = async () => (await m.providers(wanted)).providers
    }
    const result = await download({
      node,
      id,
      name,
      outDir: out,
      providers,
      refreshProviders,
      refreshIntervalMs: getOptions.providerRefreshMs,
      requestsInFlight: options.requestsInFlight ?? config.requestsInFlight,
      onEvent: getOptions.onEvent,
      onChunk: getOptions.onChunk,
      signal: getOptions.signal
    })
    const own = shareHolding(result.path)
    if (own != null) {
      // downloaded into our own share: serve it like any shared file
      await own.adopt(result.path, result.manifest).catch(err => { options.onWarning?.(`sharing the download failed: ${err?.message ?? err}`) })
    } else if (getOptions.seed === true) {
      await seed(result)
    }
    return result
  }

  /** This peer's share when `path` is inside its folder (the share then serves it), else null. */
  function shareHolding (path: string): LiveShare | null {
    return share != null && shareDir != null && isInside(shareDir, path) ? share : null
  }

  async function seed (result: Pick<DownloadResult, 'id' | 'path' | 'manifest'>): Promise<void> {
    const abs = resolve(result.path)
    const own = shareHolding(abs)
    if (own != null) {
      await own.adopt(abs, result.manifest)
      return
    }
    // a seeded file outside the share is published under its file name
    catalog.add(basename(abs), abs, parseContentId(result.id), result.manifest)
    await startServing()
    log('seeding %s from %s', result.id, abs)
  }

  /** `--from`: a full multiaddr, or /p2p/<PeerId> whose addresses the master knows. */
  async function resolveFromAddr (from: string): Promise<ProviderRef> {
    let ma: Multiaddr
    try {
      ma = multiaddr(from)
    } catch (err: any) {
      throw new FileShareError('USAGE', `bad --from address ${from}: ${err?.message ?? err}`)
    }
    const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
    if (id == null) throw new FileShareError('USAGE', `--from ${from} must end with /p2p/<PeerId>`)
    const peer = peerIdFromString(id)
    const bare = ma.getComponents().length === 1
    if (!bare) return { peer, addrs: [ma] }
    const addrs = await requireMaster().peerAddrs(peer)
    if (addrs.length === 0) throw new FileShareError('NOT_FOUND', `the master knows no address for ${id}`)
    return { peer, addrs }
  }

  /** Asks one peer which of its files carry `name` (again after a while when it is BUSY). */
  async function resolveNameAt (from: ProviderRef, fileName: string, signal?: AbortSignal): Promise<{ id: Uint8Array, name: string }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await resolveNameOnce(from, fileName)
      } catch (err: any) {
        if (!isBusy(err?.cause ?? err) || attempt >= BUSY_MAX_RETRIES) throw err
        await waitBusy(attempt, signal)
      }
    }
  }

  async function resolveNameOnce (from: ProviderRef, fileName: string): Promise<{ id: Uint8Array, name: string }> {
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

  let stopped = false
  log('peer %s ready, sharing %d files', node.peerId.toString(), catalog.size)
  return {
    node,
    peerId: node.peerId.toString(),
    addrs: () => node.getMultiaddrs().map(String),
    catalog,
    master,
    registered: () => registration?.registered ?? false,
    flushRegistration: async () => { await registration?.flush() },
    shareStats: () => share != null ? { ...share.folder.totals, pending: share.folder.pendingPaths().length } : null,
    rescan: async () => await (share?.rescan() ?? Promise.resolve(0)),
    seed,
    activeUploads: () => node.services.fetch.activeUploads,
    reachability: () => reachability?.current ?? { reachability: 'unknown', addrs: [] },
    onReachabilityChange: listener => reachability?.onChange(listener) ?? (() => {}),
    reachabilitySettled: async timeoutMs => await (reachability?.settled(timeoutMs) ?? Promise.resolve({ reachability: 'unknown' as const, addrs: [] })),
    search: async (words, searchOptions) => await requireMaster().search(words, searchOptions?.limit),
    get,
    async stop () {
      if (stopped) return
      stopped = true
      await share?.stop()
      await registration?.stop()
      await reachability?.stop()
      upgrader.stop()
      await node.stop()
    }
  }
}

function isInside (dir: string, path: string): boolean {
  const rel = relative(dir, path)
  return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel)
}

function ambiguous (name: string, candidates: string[]): FileShareError {
  return new FileShareError('AMBIGUOUS_NAME', `${JSON.stringify(name)} names ${candidates.length} different files; get one by id:\n  ${candidates.join('\n  ')}`, { details: { candidates } })
}
