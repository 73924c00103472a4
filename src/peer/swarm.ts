/**
 * One `get` as a member of a swarm (issue 11): it serves the chunks it has verified to other
 * downloaders of the same content while it runs, registered with the master as a partial
 * provider (catalog.addPartial; the fetch server answers HAVE from it), and it finds the
 * other downloaders: from the master's list, and in-band (a downloader that asks us HAVE
 * is downloading the same file and is asked back). When the download ends the partial
 * copy is withdrawn, or becomes a complete one (--seed), or the share adopts the file.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { logger } from '@libp2p/logger'
import { lstat } from 'node:fs/promises'
import { formatContentId } from '../content/content-id.js'
import { identityOf } from '../content/file-identity.js'
import type { Catalog } from './catalog.js'
import type { PartialCopy, ProviderRef } from './download/types.js'

const log = logger('fileshare:peer:swarm')

/** A partial provider with a higher PeerId is dialled only if it has not asked us HAVE within this time (see dialFirst). */
const PAIR_DIAL_GRACE_MS = 5_000

export interface SwarmMemberOptions {
  catalog: Catalog
  /** this peer's PeerId */
  self: string
  /** serve while downloading (false: --no-upload) */
  upload: boolean
  /** starts the fetch server and the registration with the master (once) */
  startServing: () => Promise<void>
  /** a verified chunk of `bytes` came from `peer`: its upload credit at our fetch server (fair upload, choker.ts) */
  earn?: (peer: string, bytes: number) => void
  onWarning?: (message: string) => void
}

export class SwarmMember {
  /** the catalog path of our partial copy while it is served */
  private partialPath: string | null = null
  private id: Uint8Array | null = null
  private readonly firstSeen = new Map<string, number>()
  /** the partial providers of the master's last list (dialled or not) */
  private listed = new Set<string>()

  constructor (readonly options: SwarmMemberOptions) {}

  /** The hooks that serve the download's verified chunks (undefined with upload off). */
  copy (id: Uint8Array): PartialCopy | undefined {
    this.id = id
    if (!this.options.upload) return undefined
    const { catalog } = this.options
    return {
      start: ({ manifest, name, partPath, have }) => {
        if (!catalog.addPartial(name, partPath, id, manifest, have)) return
        this.partialPath = name
        log('serving the verified chunks of %s while downloading', formatContentId(id))
        this.options.startServing().catch(err => { this.options.onWarning?.(`serving while downloading failed: ${err?.message ?? err}`) })
      },
      gained: index => { catalog.gained(id, index) }
    }
  }

  /** The first providers to dial (never so few that nothing is left to ask). */
  initial (providers: ProviderRef[]): ProviderRef[] {
    this.list(providers)
    const first = this.dialFirst(providers)
    return first.length > 0 ? first : providers
  }

  /** Wraps the master's provider list (or none, with `from`) with the downloaders found in-band. */
  refresh (fromMaster: (() => Promise<ProviderRef[]>) | undefined): (() => Promise<ProviderRef[]>) | undefined {
    if (fromMaster != null) return async () => this.followers(this.dialFirst(this.list(await fromMaster())))
    return this.options.upload ? async () => this.followers([]) : undefined
  }

  /**
   * The other downloaders of this content the master lists (partial providers), dialled or
   * not: the swarm the seeders' work is split over. (Not those that asked us HAVE: one
   * with --no-upload asks too, and would never pass its share on.)
   */
  members (): string[] {
    return [...this.listed].filter(p => p !== this.options.self)
  }

  private list (providers: ProviderRef[]): ProviderRef[] {
    this.listed = new Set(providers.filter(p => p.partial === true).map(p => p.peer.toString()))
    return providers
  }

  /** Chunk bytes served from our partial copy so far. */
  uploaded (): number {
    return this.partialPath != null && this.id != null ? (this.options.catalog.get(this.id)?.served ?? 0) : 0
  }

  /** The download ended (failed, or its file is served otherwise now): withdraw the partial copy. */
  withdraw (): void {
    if (this.partialPath != null) this.options.catalog.remove(this.partialPath)
  }

  /** The download is complete at `path` and is seeded: true when the partial copy became the complete one in place (its followers keep their streams). */
  async complete (path: string): Promise<boolean> {
    if (this.partialPath == null) return false
    const st = await lstat(path)
    this.options.catalog.completePartial(this.partialPath, path, { open: path, identity: identityOf(st) })
    return true
  }

  /**
   * Downloaders that asked us HAVE are downloading the same content: ask them too (they
   * learned of us first; the master's list reaches us later). Those that do not serve
   * answer NOT_FOUND and are dropped.
   */
  private followers (known: ProviderRef[]): ProviderRef[] {
    const entry = this.id != null ? this.options.catalog.get(this.id) : undefined
    if (entry == null || entry.followers.size === 0) return known
    const listed = new Set(known.map(p => p.peer.toString()))
    const extra = [...entry.followers].filter(f => !listed.has(f) && f !== this.options.self)
    return [...known, ...extra.map(f => ({ peer: peerIdFromString(f), addrs: [], partial: true }))]
  }

  /**
   * Two downloaders that find each other in the master's list would dial each other at once
   * (two handshakes; on a crowded uplink each one slow): once we are listed as a partial
   * provider too, only the one with the lower PeerId dials; the other learns of it when it
   * asks HAVE (followers), or dials it after PAIR_DIAL_GRACE_MS if that never happens (say,
   * it cannot reach us). A downloader with nothing yet dials everyone.
   */
  private dialFirst (list: ProviderRef[]): ProviderRef[] {
    return list.filter(p => {
      const peer = p.peer.toString()
      if (p.partial !== true || this.partialPath == null || peer < this.options.self) return true
      const seen = this.firstSeen.get(peer) ?? Date.now()
      this.firstSeen.set(peer, seen)
      return Date.now() - seen > PAIR_DIAL_GRACE_MS
    })
  }
}
