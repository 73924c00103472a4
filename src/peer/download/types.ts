/**
 * The public types of a download: its options and result, and a provider as a lookup
 * names it (ProviderRef: dialled by provider-pool.ts through dial.ts). Progress events and
 * per-provider stats: progress.ts.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Manifest } from '../../content/content-id.js'
import type { FileShareNode } from '../../node/create-node.js'
import type { ProviderStats, DownloadEvent } from './progress.js'

/** A provider of a content id: its peer id and the addresses to dial. */
export interface ProviderRef {
  peer: PeerId
  /** addresses to dial (may be empty when the node already knows the peer) */
  addrs: Multiaddr[]
  /** a partial provider (the lookup says so): asked which chunks it has (HAVE) before any chunk */
  partial?: boolean
}

/**
 * Serving a download while it runs (swarming): the download tells its caller when its
 * part file first holds verified chunks and of every chunk verified after that.
 */
export interface PartialCopy {
  /** the download has started (its part file may hold no verified chunk yet): `have` is live, one byte per chunk */
  start: (info: { manifest: Manifest, name: string, partPath: string, have: Uint8Array }) => void
  /** chunk `index` is verified and written in the part file */
  gained: (index: number) => void
}

export interface DownloadResult {
  id: string
  path: string
  bytes: number
  seconds: number
  providers: ProviderStats[]
  /** bytes that were already on disk from an interrupted run (re-verified) */
  resumedBytes: number
  /** of `bytes`, those that came from partial providers (other downloaders) */
  partialBytes: number
  /** chunk bytes this peer served to other downloaders while downloading (set by peer.get) */
  uploadedBytes?: number
  /** the verified manifest (for seeding) */
  manifest: Manifest
  /** true when `path` already held this content: nothing was downloaded or written */
  existing?: boolean
}

export interface DownloadOptions {
  node: FileShareNode
  id: Uint8Array
  /** when the final name already holds this content, return it (`existing: true`) instead of writing "NAME (1).ext" */
  skipExisting?: boolean
  /** file name to write (reduced to a safe single name); default: the provider's name for it, else the id */
  name?: string
  outDir: string
  providers: ProviderRef[]
  /** asked every `refreshIntervalMs` for the current providers (new ones join the download) */
  refreshProviders?: () => Promise<ProviderRef[]>
  refreshIntervalMs?: number
  /**
   * when every provider so far failed before the manifest: other providers, none of
   * `tried` (a lookup excluding them), asked at most PROVIDER_ROUNDS times
   */
  moreProviders?: (tried: PeerId[]) => Promise<ProviderRef[]>
  /** upper bound of requests in flight per provider (adapted below it to the provider's speed) */
  requestsInFlight?: number
  /**
   * bytes per second requested from all providers together (a chunk request waits for its
   * turn; in flight stays bounded by the workers' depth); 0 or undefined = unlimited
   */
  maxDownloadRate?: number
  onEvent?: (event: DownloadEvent) => void
  /** called as each chunk verifies (library users and tests; not a CLI event) */
  onChunk?: (index: number, peer: string) => void
  /** serve the verified chunks while downloading (see PartialCopy) */
  partial?: PartialCopy
  /**
   * the other downloaders of this content known now (PeerIds of the partial providers the
   * master lists), dialled or not: the swarm the seeders' work is split over (download.ts,
   * 6b); asked again after each provider refresh
   */
  swarmMembers?: () => Iterable<string>
  /** the scheduler's pick among equally rare chunks (tests); default Math.random */
  random?: () => number
  signal?: AbortSignal
}
