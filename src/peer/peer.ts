/**
 * A FileShare peer: a libp2p node with a persistent key that (optionally) shares a folder
 * (scanner → catalog → fetch server, registration with the master) and downloads
 * (search, get) through the master or straight from a known peer.
 *
 * `createPeer` takes plain options; every option left out takes its default from
 * src/defaults.ts (PEER_DEFAULTS). It reads no config file and no environment: that is the
 * CLI's job (src/cli/config.ts). A create that fails stops everything it started and
 * rejects with a FileShareError.
 */
import { resolve, basename } from 'node:path'
import { stat, access, lstat } from 'node:fs/promises'
import { constants } from 'node:fs'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import { createNode, type FileShareNode, type EncrypterName } from '../node/create-node.js'
import { listenFor, type TransportName } from '../node/addresses.js'
import { loadOrCreateKey } from '../node/key-store.js'
import { lockDataDir, type DataLock } from '../node/data-lock.js'
import { assertListening } from '../node/listen-check.js'
import { PEER_DEFAULTS } from '../defaults.js'
import { FileShareError, toFileShareError } from '../errors.js'
import { parseContentId } from '../content/content-id.js'
import { identityOf } from '../content/file-identity.js'
import { REACHABILITY_SETTLE_MS } from './tuning.js'
import { Catalog } from './catalog.js'
// the share (SQLite hash cache, watcher) loads only for a peer that shares: search and get start faster
import type { LiveShare } from './share/live-share.js'
import type { ScanStats } from './share/scanner.js'
import { fetchServer, type FetchServer } from '../protocols/fetch/index.js'
import { MasterClient, type SearchResult } from './master-client.js'
import { Registration } from './registration.js'
import type { DownloadResult } from './download/download.js'
import { getFile, type GetOptions } from './get.js'
import { SwarmMember } from './swarm.js'
import { listPeer, type ListOptions, type Listing } from './list.js'
import { ReachabilityManager, DirectUpgrader, type ReachabilityMode, type ReachabilityState } from './reachability.js'

export type { GetOptions } from './get.js'
export type { ListOptions, Listing, ListedFile } from './list.js'

const log = logger('fileshare:peer')

export interface PeerOptions {
  /**
   * what to share: a folder or a single file, or several (omit for a peer that only searches
   * and downloads). With several roots every shared name starts with its root's base name
   * (`-2`, `-3` … added when two have the same); see src/peer/share/live-share.ts
   */
  share?: string | string[]
  /**
   * the master's multiaddr ending in /p2p/<PeerId>; null = no master (search and get by
   * name need one; `get` with `from` does not)
   * @default null
   */
  master?: string | null
  /**
   * multiaddrs to listen on; every one must be bound, else the create rejects with 'LISTEN'
   * @default ['/ip4/0.0.0.0/tcp/0'] for a sharing peer, [] (dial only) otherwise
   */
  listen?: string[]
  /**
   * multiaddrs to announce instead of all others
   * @default []
   */
  announce?: string[]
  /**
   * 'tcp' and/or 'quic'; listen addresses of a transport left out are ignored
   * @default ['tcp', 'quic']
   */
  transports?: TransportName[]
  /**
   * TCP connection encrypters in order of preference
   * @default ['noise', 'tls']
   */
  encrypters?: EncrypterName[]
  /**
   * ms a download waits for a hole punch before it starts on the relay (0: start at once,
   * move to the punched connection when it comes)
   * @default 1500
   */
  holePunchWaitMs?: number
  /**
   * folder for the key (a stable PeerId) and the hash cache, locked by this process while the
   * peer runs ('LOCKED' when another process holds it); null = a throwaway key and an in-memory cache
   * @default '.fileshare/peer'
   */
  data?: string | null
  /**
   * upload slots in total: fetch streams sending data at once; a request beyond them gets BUSY
   * @default 32
   */
  maxUploads?: number
  /**
   * upload slots one PeerId may hold
   * @default 2
   */
  maxUploadsPerPeer?: number
  /**
   * upload slots one remote IP (IPv6: one /64) may hold, whatever the keys
   * @default 8
   */
  maxUploadsPerIp?: number
  /**
   * fair upload: how long the optimistic upload slot stays with one peer before a
   * downloader that gave us nothing may take it, ms
   * @default 30000
   */
  optimisticSlotMs?: number
  /**
   * chunk bytes per second this peer uploads in total
   * @default unlimited
   */
  maxUploadRate?: number
  /**
   * a get serves the chunks it has verified to other downloaders while it runs, and
   * registers as a partial provider (swarming; `GetOptions.upload` per get)
   * @default true
   */
  upload?: boolean
  /**
   * chunk bytes per second a get requests from all its providers together (a get's own
   * `maxDownloadRate` overrides it)
   * @default unlimited
   */
  maxDownloadRate?: number
  /**
   * upper bound of chunk requests outstanding per provider during a get
   * @default 16
   */
  requestsInFlight?: number
  /**
   * follow the shared folder with fs.watch
   * @default true
   */
  watch?: boolean
  /**
   * full rescan period of the shared folder in ms, 0 = never
   * @default 60000
   */
  rescanIntervalMs?: number
  /**
   * a file is hashed once unchanged for this long, ms
   * @default 1000
   */
  settleMs?: number
  /**
   * an inbound fetch stream with no request, or whose reader takes no data, for this long is
   * closed (losing its upload slot), ms
   * @default 30000
   */
  streamIdleTimeoutMs?: number
  /**
   * 'auto' (dial-back check, relay reservation when not public), 'public' or 'relayed'
   * @default 'auto'
   */
  reachability?: ReachabilityMode
  /**
   * a sharing peer with a master resolves `createPeer` (and `ready()`) once the master accepted
   * its first full registration, or once the first attempt failed, or after this many ms
   * @default 10000
   */
  registrationTimeoutMs?: number
  /** registration problems and other notices */
  onWarning?: (message: string) => void
}

/** A peer's node: the common services plus its fetch server. */
export type PeerNode = FileShareNode<{ fetch: FetchServer }>

export interface Peer {
  readonly node: PeerNode
  readonly peerId: string
  addrs: () => string[]
  readonly catalog: Catalog
  /** null when no master is configured */
  readonly master: MasterClient | null
  /**
   * Resolves once the first registration of the shared files has been settled: true when
   * the master accepted it, false when it failed (the peer keeps retrying) or took longer
   * than `registrationTimeoutMs`, or when there is nothing to register (no master, no share).
   * `createPeer` already waits for it.
   */
  ready: () => Promise<boolean>
  /** true once the master holds this peer's full file list */
  registered: () => boolean
  /** waits until queued catalog changes have been sent to the master */
  flushRegistration: () => Promise<void>
  /** files hashed / taken from the hash cache / pending since start (null without a share) */
  shareStats: () => ScanStats | null
  /** rescans the shared folder now */
  rescan: () => Promise<number>
  /** serves a complete, verified file (a finished download) from this peer and registers it */
  seed: (result: Pick<DownloadResult, 'id' | 'path' | 'manifest'>) => Promise<void>
  /** upload slots held right now (streams sending data) */
  activeUploads: () => number
  /** how other peers can reach this one (sharing peers with a master; else 'unknown') */
  reachability: () => ReachabilityState
  /** called whenever reachability changes; returns an unsubscribe function */
  onReachabilityChange: (listener: (state: ReachabilityState) => void) => () => void
  /** the reachability once it is 'public' or 'relayed', or whatever it is after `timeoutMs` */
  reachabilitySettled: (timeoutMs: number) => Promise<ReachabilityState>
  search: (words: string, options?: { limit?: number }) => Promise<SearchResult[]>
  get: (idOrName: string, options?: GetOptions) => Promise<DownloadResult>
  /**
   * What one peer shares (asked of that peer, page after page): `peer` is a multiaddr ending
   * in /p2p/<PeerId>, or a PeerId (`12D3…`, `/p2p/12D3…`) whose addresses the master knows
   */
  list: (peer: string, options?: ListOptions) => Promise<Listing>
  stop: () => Promise<void>
}

export async function createPeer (options: PeerOptions = {}): Promise<Peer> {
  const peer = new FileSharePeer(options)
  try {
    await peer.start()
    return peer
  } catch (err) {
    await peer.stop().catch(() => {})
    throw toFileShareError(err, 'INTERNAL')
  }
}

export class FileSharePeer implements Peer {
  readonly catalog = new Catalog()
  private _node: PeerNode | null = null
  private _master: MasterClient | null = null
  private readonly shareDirs: string[]
  private readonly dataDir: string | null
  private lock: DataLock | null = null
  private upgrader: DirectUpgrader | null = null
  private serving = false
  private registration: Registration | null = null
  private reachabilityManager: ReachabilityManager | null = null
  private share: LiveShare | null = null
  private firstRegistration: Promise<boolean> = Promise.resolve(false)
  private stopped = false

  constructor (private readonly options: PeerOptions) {
    this.shareDirs = (options.share == null ? [] : Array.isArray(options.share) ? options.share : [options.share]).map(p => resolve(p))
    this.dataDir = options.data === null ? null : resolve(options.data ?? PEER_DEFAULTS.data)
  }

  get node (): PeerNode {
    if (this._node == null) throw new FileShareError('INTERNAL', 'peer not started')
    return this._node
  }

  get peerId (): string { return this.node.peerId.toString() }
  get master (): MasterClient | null { return this._master }

  /** Starts the node and (with a share) serving and registration; the caller stops on failure. */
  async start (): Promise<void> {
    const { options, shareDirs, dataDir } = this
    const sharing = shareDirs.length > 0
    const masterMa = parseMaster(options.master ?? PEER_DEFAULTS.master)
    for (const dir of shareDirs) await checkRoot(dir)
    if (dataDir != null) this.lock = lockDataDir(dataDir)
    const privateKey = dataDir != null ? await loadOrCreateKey(dataDir) : undefined
    const transports = options.transports ?? PEER_DEFAULTS.transports
    const listen = listenFor(options.listen ?? (sharing ? PEER_DEFAULTS.listen : []), transports)
    const node = this._node = await createNode({
      privateKey,
      listen,
      transports,
      encrypters: options.encrypters ?? PEER_DEFAULTS.encrypters,
      holePunchWaitMs: options.holePunchWaitMs ?? PEER_DEFAULTS.holePunchWaitMs,
      // a sharing peer announces a public address once the master's dial-back verified it;
      // a client (get) announces its listen addresses as they are: a NATed provider tries
      // them to dial it back (connection reversal), and a wrong one costs only that dial
      publicListenAddrs: !sharing,
      announce: options.announce ?? PEER_DEFAULTS.announce,
      relayTransport: true,
      services: {
        // a libp2p service, stopped with the node; it registers its handler once this peer
        // has something to serve (startServing)
        fetch: fetchServer({
          catalog: this.catalog,
          maxUploads: options.maxUploads ?? PEER_DEFAULTS.maxUploads,
          maxUploadsPerPeer: options.maxUploadsPerPeer ?? PEER_DEFAULTS.maxUploadsPerPeer,
          maxUploadsPerIp: options.maxUploadsPerIp ?? PEER_DEFAULTS.maxUploadsPerIp,
          maxUploadRate: options.maxUploadRate,
          optimisticSlotMs: options.optimisticSlotMs,
          idleTimeoutMs: options.streamIdleTimeoutMs ?? PEER_DEFAULTS.streamIdleTimeoutMs,
          onChanged: (id, abs, reason) => { this.withdrawChanged(id, abs, reason) },
          serving: false
        })
      }
    })
    await assertListening(node, listen)
    if (masterMa != null) this._master = new MasterClient(node, masterMa)
    this.upgrader = new DirectUpgrader(node)
    this.upgrader.start()
    if (sharing) {
      const { startLiveShare } = await import('./share/live-share.js')
      this.share = await startLiveShare({
        roots: shareDirs,
        catalog: this.catalog,
        dataDir,
        settleMs: options.settleMs ?? PEER_DEFAULTS.settleMs,
        watch: options.watch ?? PEER_DEFAULTS.watch,
        rescanIntervalMs: options.rescanIntervalMs ?? PEER_DEFAULTS.rescanIntervalMs,
        onWarning: options.onWarning
      })
      await this.startServing()
      await this.firstRegistration
    }
    log('peer %s ready, sharing %d files', node.peerId.toString(), this.catalog.size)
  }

  /** Starts the fetch server, the registration with the master and reachability (once). */
  /**
   * Starts the fetch server and the registration with the master (once), and reachability
   * (dial-back, relay reservation) unless `partialOnly`: a get serving its partial copy
   * skips that (a crowd of downloaders would each cost the master a dial-back; a NATed
   * downloader still serves the downloaders it dialled, over their connections).
   */
  private async startServing (partialOnly = false): Promise<void> {
    if (!partialOnly) this.startReachability()
    if (this.serving) return
    this.serving = true
    const { options } = this
    const node = this.node
    await node.services.fetch.serve()
    if (this._master != null) {
      let settle!: (ok: boolean) => void
      const first = new Promise<boolean>(resolve => { settle = resolve })
      const timer = setTimeout(() => { settle(false) }, options.registrationTimeoutMs ?? REACHABILITY_SETTLE_MS)
      timer.unref()
      void first.then(() => { clearTimeout(timer) })
      this.firstRegistration = first
      this.registration = new Registration(node, this._master.peer, this._master.registry, this.catalog, {
        onRegistered: () => { settle(true) },
        onError: message => {
          settle(false)
          options.onWarning?.(message)
        }
      })
      this.registration.start()
    }
  }

  private startReachability (): void {
    if (this.reachabilityManager != null || this._master == null) return
    this.reachabilityManager = new ReachabilityManager(this.node, this._master, this.options.reachability ?? PEER_DEFAULTS.reachability, this.options.onWarning)
    this.reachabilityManager.start()
  }

  addrs (): string[] {
    return this.node.getMultiaddrs().map(String)
  }

  async ready (): Promise<boolean> {
    return await this.firstRegistration
  }

  registered (): boolean {
    return this.registration?.registered ?? false
  }

  async flushRegistration (): Promise<void> {
    await this.registration?.flush()
  }

  shareStats (): ScanStats | null {
    if (this.share == null) return null
    const folders = this.share.folders
    return {
      hashed: folders.reduce((n, f) => n + f.totals.hashed, 0),
      cached: folders.reduce((n, f) => n + f.totals.cached, 0),
      pending: folders.reduce((n, f) => n + f.pendingPaths().length, 0),
      unreadable: this.share.unreadable()
    }
  }

  async rescan (): Promise<number> {
    return await (this.share?.rescan() ?? Promise.resolve(0))
  }

  activeUploads (): number {
    return this._node?.services.fetch.activeUploads ?? 0
  }

  reachability (): ReachabilityState {
    return this.reachabilityManager?.current ?? { reachability: 'unknown', addrs: [] }
  }

  onReachabilityChange (listener: (state: ReachabilityState) => void): () => void {
    return this.reachabilityManager?.onChange(listener) ?? (() => {})
  }

  async reachabilitySettled (timeoutMs: number): Promise<ReachabilityState> {
    return await (this.reachabilityManager?.settled(timeoutMs) ?? Promise.resolve({ reachability: 'unknown' as const, addrs: [] }))
  }

  async search (words: string, searchOptions?: { limit?: number }): Promise<SearchResult[]> {
    return await this.requireMaster().search(words, searchOptions?.limit)
  }

  async get (idOrName: string, getOptions: GetOptions = {}): Promise<DownloadResult> {
    // swarming: serve what is verified while downloading, as a partial provider (swarm.ts)
    const swarm = new SwarmMember({
      catalog: this.catalog,
      self: this.peerId,
      upload: getOptions.upload ?? this.options.upload ?? PEER_DEFAULTS.upload,
      startServing: async () => { await this.startServing(true) },
      // fair upload: peers we download from are served first when our slots are full
      earn: (peer, bytes) => { this._node?.services.fetch.earn(peer, bytes) },
      onWarning: this.options.onWarning
    })
    const result = await getFile({
      node: this.node,
      requireMaster: () => this.requireMaster(),
      requestsInFlight: this.options.requestsInFlight ?? PEER_DEFAULTS.requestsInFlight,
      swarm,
      maxDownloadRate: this.options.maxDownloadRate
    }, idOrName, getOptions)
    const own = this.shareHolding(result.path)
    if (own != null) {
      // downloaded into our own share: serve it like any shared file
      swarm.withdraw()
      await own.adopt(result.path, result.manifest).catch(err => { this.options.onWarning?.(`sharing the download failed: ${err?.message ?? err}`) })
    } else if (getOptions.seed === true) {
      // a partial copy becomes the complete one in place, else the file is published now
      if (await swarm.complete(resolve(result.path))) await this.startServing()
      else await this.seed(result)
    } else {
      // done: no longer a provider (unless seeding)
      swarm.withdraw()
    }
    return result
  }

  async list (target: string, listOptions?: ListOptions): Promise<Listing> {
    return await listPeer({ node: this.node, requireMaster: () => this.requireMaster() }, target, listOptions)
  }

  async seed (result: Pick<DownloadResult, 'id' | 'path' | 'manifest'>): Promise<void> {
    const abs = resolve(result.path)
    const own = this.shareHolding(abs)
    if (own != null) {
      await own.adopt(abs, result.manifest)
      return
    }
    // a seeded file outside the share is published under its file name, served only while
    // it is the file that was downloaded and verified
    const st = await lstat(abs)
    if (!st.isFile() || st.size !== result.manifest.size) throw new FileShareError('IO', `${abs} is not the downloaded file any more`)
    this.catalog.add(basename(abs), abs, parseContentId(result.id), result.manifest, { open: abs, identity: identityOf(st) })
    await this.startServing()
    log('seeding %s from %s', result.id, abs)
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    try {
      await this.share?.stop()
      await this.registration?.stop()
      await this.reachabilityManager?.stop()
      this.upgrader?.stop()
      await this._node?.stop()
    } finally {
      this.lock?.release()
    }
  }

  private requireMaster (): MasterClient {
    if (this._master == null) throw new FileShareError('NO_MASTER', 'no master configured')
    return this._master
  }

  /**
   * The fetch server found that the file at `abs` no longer holds the bytes hashed for `id`
   * (replaced, a symlink, edited): withdraw it now (registration sends the removal) and,
   * for a file of the share, hash it again (registered under its new id once settled).
   */
  private withdrawChanged (id: Uint8Array, abs: string, reason: string): void {
    const rel = this.catalog.pathOf(id, abs)
    if (rel == null) return
    log('withdrawing %s: %s', rel, reason)
    this.catalog.remove(rel)
    if (this.share != null) void this.share.recheck(abs).catch(err => { log('re-hashing %s failed: %s', rel, err?.message ?? err) })
  }

  /** This peer's share when `path` is inside its folder (the share then serves it), else null. */
  private shareHolding (path: string): LiveShare | null {
    return this.share != null && this.share.holds(resolve(path)) ? this.share : null
  }
}

function parseMaster (addr: string | null): Multiaddr | null {
  if (addr == null || addr === '') return null
  let ma: Multiaddr
  try {
    ma = multiaddr(addr)
  } catch (err: any) {
    throw new FileShareError('USAGE', `bad master address ${addr}: ${err?.message ?? err}`)
  }
  if (ma.getComponents().findLast(c => c.name === 'p2p') == null) {
    throw new FileShareError('USAGE', `master address ${addr} must end with /p2p/<PeerId>`)
  }
  return ma
}

/** A shared root: a folder or a regular file that exists and can be read. */
async function checkRoot (path: string): Promise<void> {
  let st
  try {
    st = await stat(path)
    await access(path, constants.R_OK | (st.isDirectory() ? constants.X_OK : 0))
  } catch (err: any) {
    const why = err?.code === 'ENOENT' ? 'no such file or folder' : err?.code === 'EACCES' ? 'permission denied' : err?.message ?? err
    throw new FileShareError('IO', `cannot share ${path}: ${why}`, { cause: err })
  }
  if (!st.isDirectory() && !st.isFile()) throw new FileShareError('IO', `cannot share ${path}: not a folder or a regular file`)
}
