/**
 * Which chunk goes to which provider next: the download's chunk bookkeeping, with no I/O,
 * no timers and no libp2p (the caller passes `now`), so it can be tested alone.
 *
 * 1. Chunks not yet verified wait in a queue. A provider asks `next(provider, now)` for a
 *    chunk each time it has room in its pipeline (the depth the rate estimator sets).
 *    Chunks put back after a failure (`requeue`) go first, before the rest of the queue.
 * 2. Chunks a provider has: a provider registers with an optional `has` bitfield (one
 *    byte per chunk, 1 = it has the chunk; default: it has every chunk); `announce`
 *    records a chunk a partial provider gained (a HAVE). `next` picks among the queued
 *    chunks the asker has the rarest (held by the fewest registered providers), and among
 *    equals a random one (`random`, injectable: seeded in tests; null = the lowest index,
 *    in order). Random among equals is what makes a swarm work: downloaders that start
 *    together from one seeder each take different chunks, so they have something to
 *    trade. When every provider is complete, every chunk is equally rare: a random pick
 *    in O(1); with partial providers a scan of the queue, O(queued chunks) per pick.
 *    `prefer` marks this downloader's share of the swarm (download.ts): complete providers
 *    are then asked only for share chunks no partial provider holds, until every chunk we
 *    miss is held by one (or nothing is in flight at all: see keptToShare), so the seeder
 *    sends each chunk to about one downloader and the downloaders trade the rest.
 * 3. Endgame: when the queue holds nothing for the asker, it may get a second copy of a
 *    chunk in flight elsewhere (at most ENDGAME_MAX_COPIES copies of a chunk; second
 *    copies hold their chunk in memory, at most ENDGAME_BUFFER_BYTES in all): the one whose
 *    holder (the provider of its first request) is slowest, and only when that holder is
 *    not faster than the asker (a holder that finished nothing for ENDGAME_STALE_MS counts
 *    as speed 0, an asker that has finished nothing yet as infinitely fast); oldest first
 *    on ties. While chunks still wait in the queue (a partial provider holds none of them:
 *    the normal state of a swarm, not its end), only a chunk whose holder finished nothing
 *    for ENDGAME_STALLED_MS is copied, and a complete provider kept to our share copies none.
 * 4. A request ends with `settle` (its bytes arrived, or it failed). A chunk that arrived
 *    is verified by the caller: `markVerified` says whether this was its first verified
 *    copy (later copies are dropped); `reject` puts it back and marks the provider a liar,
 *    never to be asked again (not even under a new registration). `requeue` puts a failed
 *    chunk back at the front of the queue unless it is verified or another copy is in flight.
 * 5. `removeProvider` (a provider failed or lied) settles its requests and puts their
 *    chunks back, so the providers left get them.
 */
import { chunkCount } from '../../content/content-id.js'
import { ENDGAME_BUFFER_BYTES, ENDGAME_MAX_COPIES, ENDGAME_STALE_MS, ENDGAME_STALLED_MS } from './tuning.js'

/** What the endgame needs to know of a provider's speed (see rate.ts). */
export interface ChunkSpeed {
  /** bytes per second, 0 until the first chunk */
  readonly rate: number
  /** when it last finished a chunk, 0 before its first */
  readonly lastDone: number
  /** when it joined */
  readonly started: number
}

/** A provider as the scheduler knows it: returned by `addProvider`, passed back to every call. */
export interface ScheduledProvider {
  readonly key: string
  /** chunks requested from this provider and not yet settled */
  readonly chunks: ReadonlySet<number>
  readonly speed: ChunkSpeed
  /** one byte per chunk, 1 = has it; null: has every chunk */
  readonly has: Uint8Array | null
  /** removed or found lying: gets no more chunks */
  readonly removed: boolean
}

interface Provider extends ScheduledProvider {
  readonly chunks: Set<number>
  removed: boolean
}

/** One chunk with requests in flight. */
interface Flight {
  copies: number
  /** the provider of the chunk's first request (endgame compares its speed) */
  holder: Provider | null
}

export interface ChunkSchedulerOptions {
  size: number
  chunkSize: number
  /** one byte per chunk, 1 = already verified (resumed); kept and updated by the scheduler */
  verified?: Uint8Array
  /** peers found lying; shared with whoever dials providers (default: a new set) */
  liars?: Set<string>
  endgameBufferBytes?: number
  maxCopies?: number
  staleMs?: number
  /** while chunks still wait, only a holder idle this long is copied (see next) */
  stalledMs?: number
  /**
   * picks among equally rare chunks: a number in [0, 1); null = lowest index first
   *
   * @default Math.random
   */
  random?: (() => number) | null
}

export class ChunkScheduler {
  readonly total: number
  readonly chunkSize: number
  readonly liars: Set<string>
  private readonly size: number
  private readonly verified: Uint8Array
  private verifiedCountValue = 0
  private verifiedBytesValue = 0
  private readonly queue: number[] = []
  /** chunks put back after a failure: handed out before the queue */
  private readonly retry: number[] = []
  private readonly random: (() => number) | null
  /** one byte per chunk, 1 = ask complete providers for it first (among equally rare); null = no preference */
  private preferred: Uint8Array | null = null
  /** complete providers may be asked for any chunk again (see keptToShare) */
  private unrestricted = false
  private readonly flights = new Map<number, Flight>()
  private bufferedBytesValue = 0
  private readonly endgameBufferBytes: number
  private readonly maxCopies: number
  private readonly staleMs: number
  private readonly stalledMs: number
  /** providers registered now with every chunk */
  private complete = 0
  /** providers registered now with a `has` bitfield, and how many of them hold each chunk */
  private partial = 0
  private availability: Uint16Array | null = null

  constructor (options: ChunkSchedulerOptions) {
    this.size = options.size
    this.chunkSize = options.chunkSize
    this.total = chunkCount(options.size, options.chunkSize)
    this.verified = options.verified ?? new Uint8Array(this.total)
    this.liars = options.liars ?? new Set()
    this.endgameBufferBytes = options.endgameBufferBytes ?? ENDGAME_BUFFER_BYTES
    this.maxCopies = options.maxCopies ?? ENDGAME_MAX_COPIES
    this.staleMs = options.staleMs ?? ENDGAME_STALE_MS
    this.stalledMs = options.stalledMs ?? ENDGAME_STALLED_MS
    this.random = options.random === undefined ? Math.random : options.random
    for (let i = 0; i < this.total; i++) {
      if (this.verified[i] === 0) this.queue.push(i)
      else {
        this.verifiedCountValue++
        this.verifiedBytesValue += this.lengthOf(i)
      }
    }
  }

  get verifiedCount (): number { return this.verifiedCountValue }
  get verifiedBytes (): number { return this.verifiedBytesValue }
  get done (): boolean { return this.verifiedCountValue === this.total }
  /** entries in the queue (some may since have been verified or taken as copies) */
  get queued (): number { return this.queue.length + this.retry.length }
  /** bytes of endgame copies in flight */
  get bufferedBytes (): number { return this.bufferedBytesValue }

  isVerified (index: number): boolean { return this.verified[index] !== 0 }
  /** requests of `index` in flight */
  copies (index: number): number { return this.flights.get(index)?.copies ?? 0 }

  lengthOf (index: number): number {
    return Math.min(this.chunkSize, this.size - index * this.chunkSize)
  }

  /** Registers a provider (a liar's key gets a provider that is never given a chunk). */
  addProvider (key: string, speed: ChunkSpeed, has?: Uint8Array): ScheduledProvider {
    const p: Provider = { key, chunks: new Set(), speed, has: has ?? null, removed: this.liars.has(key) }
    if (p.removed) return p
    if (p.has == null) this.complete++
    else {
      this.partial++
      this.availability ??= new Uint16Array(this.total)
      for (let i = 0; i < this.total; i++) if (p.has[i] !== 0) this.availability[i]++
    }
    return p
  }

  /** Takes a provider out: its requests are settled and their chunks go back to the queue. */
  removeProvider (provider: ScheduledProvider): void {
    const p = provider as Provider
    if (p.removed) return
    p.removed = true
    if (p.has == null) this.complete--
    else {
      this.partial--
      for (let i = 0; i < this.total; i++) if (p.has[i] !== 0) this.availability![i]--
    }
    for (const index of [...p.chunks]) {
      this.settle(p, index)
      this.requeue(index)
    }
  }

  /** A partial provider now has chunk `index`. */
  announce (provider: ScheduledProvider, index: number): void {
    const p = provider as Provider
    if (p.has == null || p.has[index] !== 0) return
    p.has[index] = 1
    if (!p.removed) this.availability![index]++
  }

  /** The next chunk to request from `provider` (recorded as in flight), or undefined when none. */
  next (provider: ScheduledProvider, now: number): number | undefined {
    const p = provider as Provider
    if (p.removed) return undefined
    let index = this.nextQueued(p)
    if (index === undefined) {
      // while chunks still wait (not in flight anywhere), a partial provider that holds none
      // of them copies only a stalled holder's chunk: in a swarm that state is the rule, not
      // the end of the download, and each copy is a chunk sent twice; a complete provider
      // kept to our share copies none (another member's chunk would be the seeder's work twice)
      const waiting = this.waiting() > 0
      if (!(waiting && this.keptToShare(p))) index = this.endgameChunk(p, now, waiting)
    }
    if (index !== undefined) this.request(p, index)
    return index
  }

  /** A request of `index` from `provider` ended (its bytes arrived or it failed). */
  settle (provider: ScheduledProvider, index: number): void {
    const p = provider as Provider
    if (!p.chunks.delete(index)) return // settled already (the provider was removed)
    const flight = this.flights.get(index)!
    flight.copies--
    // the first request is the chunk's holder; the others were endgame copies
    if (flight.holder === p) flight.holder = null
    else this.bufferedBytesValue -= this.lengthOf(index)
    if (flight.copies === 0) this.flights.delete(index)
  }

  /** Puts a chunk back, before the rest of the queue, unless it is verified or another copy is in flight. */
  requeue (index: number): void {
    if (this.verified[index] === 0 && !this.flights.has(index) && !this.retry.includes(index)) this.retry.unshift(index)
  }

  /** Chunks to ask complete providers for first among equally rare ones (see 2. above); null = none. */
  prefer (preferred: Uint8Array | null): void {
    this.preferred = preferred
  }

  /** Registered providers that have chunk `index` (complete ones included). */
  holders (index: number): number {
    return this.complete + (this.availability?.[index] ?? 0)
  }

  /** Whether some chunk not yet verified is neither in flight nor held by any registered provider. */
  get starved (): boolean {
    if (this.done) return false
    if (this.flights.size > 0 || this.complete > 0) return false
    for (let i = 0; i < this.total; i++) {
      if (this.verified[i] === 0 && this.holders(i) > 0) return false
    }
    return true
  }

  /** A copy of `index` verified: true when it is the first (count it), false when another copy won. */
  markVerified (index: number): boolean {
    if (this.verified[index] !== 0) return false
    this.verified[index] = 1
    this.verifiedCountValue++
    this.verifiedBytesValue += this.lengthOf(index)
    return true
  }

  /** `provider` sent chunk `index` with the wrong bytes: the chunk goes back, the provider is never asked again. */
  reject (provider: ScheduledProvider, index: number): void {
    this.requeue(index)
    this.liars.add(provider.key)
    this.removeProvider(provider)
  }

  /**
   * In a swarm (a share is set by `prefer`) a complete provider is asked only for chunks of
   * our share that no partial provider holds: the other members fetch theirs, and we get
   * them from the members. A download with nothing in flight anywhere asks it for any chunk
   * again, until a partial provider has something for us (a member that never fetches its
   * share, or left, cannot stall us).
   */
  private keptToShare (p: Provider): boolean {
    if (p.has != null || this.preferred == null) return false
    if (this.flights.size === 0) this.unrestricted = true
    return !this.unrestricted && this.awaitingOwners()
  }

  /**
   * Whether a chunk we miss is held by no partial provider and is another member's to fetch.
   * Once every chunk we miss is out in the swarm (or ours), complete providers are asked for
   * the rarest again: their upload is spare capacity then, not the swarm's one source.
   */
  private awaitingOwners (): boolean {
    const preferred = this.preferred!
    const availability = this.availability
    for (let i = 0; i < this.total; i++) {
      if (this.verified[i] === 0 && preferred[i] === 0 && (availability == null || availability[i] === 0)) return true
    }
    return false
  }

  /** Chunks neither verified nor in flight. */
  private waiting (): number {
    let inFlight = 0
    for (const index of this.flights.keys()) if (this.verified[index] === 0) inFlight++
    return this.total - this.verifiedCountValue - inFlight
  }

  private nextQueued (p: Provider): number | undefined {
    const retried = this.take(this.retry, p, false)
    if (retried !== undefined) return retried
    return this.take(this.queue, p, this.partial > 0)
  }

  /**
   * Takes from `list` a chunk `p` has: the rarest when `rarest`, else any (all equally
   * rare); random among equals, or the lowest index without `random`. Stale entries
   * (verified, or in flight) are dropped on the way.
   */
  private take (list: number[], p: Provider, rarest: boolean): number | undefined {
    const random = list === this.retry ? null : this.random
    const preferred = p.has == null ? this.preferred : null
    const shareOnly = this.keptToShare(p)
    if (!rarest && random == null && p.has == null && preferred == null) {
      // in order (the queue starts sorted): the first valid entry
      while (list.length > 0) {
        const index = list.shift()!
        if (this.verified[index] === 0 && !this.flights.has(index)) return index
      }
      return undefined
    }
    if (!rarest && random != null && p.has == null && preferred == null) {
      // every chunk is as rare as any other: a random valid entry, O(1) amortized
      while (list.length > 0) {
        const at = Math.floor(random() * list.length)
        const index = list[at]
        list[at] = list[list.length - 1]
        list.pop()
        if (this.verified[index] === 0 && !this.flights.has(index)) return index
      }
      return undefined
    }
    const availability = this.availability
    let best = -1
    let bestIndex = Infinity
    let bestHeld = Infinity
    let ties = 0
    let write = 0
    for (let read = 0; read < list.length; read++) {
      const index = list[read]
      if (this.verified[index] !== 0 || this.flights.has(index)) continue // drop stale entries
      list[write++] = index
      if (p.has != null && p.has[index] === 0) continue
      if (shareOnly && (preferred![index] === 0 || (availability != null && availability[index] > 0))) continue
      // rarest first; among equals, a preferred chunk before the others
      const held = (rarest && availability != null ? this.complete + availability[index] : 0) * 2 + (preferred != null && preferred[index] === 0 ? 1 : 0)
      if (held < bestHeld) {
        best = write - 1
        bestIndex = index
        bestHeld = held
        ties = 1
      } else if (held === bestHeld) {
        // random among equals (reservoir sampling), else the lowest index
        ties++
        if (random != null ? random() * ties < 1 : (list === this.retry ? false : index < bestIndex)) {
          best = write - 1
          bestIndex = index
        }
      }
    }
    list.length = write
    if (best < 0) return undefined
    return list.splice(best, 1)[0]
  }

  /** `stalledOnly`: only a chunk whose holder finished nothing for stalledMs. */
  private endgameChunk (p: Provider, now: number, stalledOnly: boolean): number | undefined {
    if (this.bufferedBytesValue + this.chunkSize > this.endgameBufferBytes) return undefined
    // a provider that has not finished a chunk yet is given the benefit of the doubt: one
    // that joins late may well be faster than the one holding the last chunks
    const mine = p.speed.lastDone === 0 ? Infinity : p.speed.rate
    let best: number | undefined
    let bestRate = Infinity
    for (const [index, flight] of this.flights) {
      if (flight.copies >= this.maxCopies || p.chunks.has(index) || this.verified[index] !== 0) continue
      if (p.has != null && p.has[index] === 0) continue
      const holder = flight.holder
      const idle = holder == null ? Infinity : now - Math.max(holder.speed.lastDone, holder.speed.started)
      if (stalledOnly && idle <= this.stalledMs) continue
      const rate = idle > this.staleMs ? 0 : holder!.speed.rate
      if (rate > mine || rate >= bestRate) continue
      best = index
      bestRate = rate
    }
    return best
  }

  private request (p: Provider, index: number): void {
    let flight = this.flights.get(index)
    if (flight == null) {
      flight = { copies: 0, holder: null }
      this.flights.set(index, flight)
    }
    flight.copies++
    p.chunks.add(index)
    // the swarm has something for us: complete providers are kept to our share again
    if (p.has != null) this.unrestricted = false
    // a second copy counts against the endgame memory budget
    if (flight.holder == null) flight.holder = p
    else this.bufferedBytesValue += this.lengthOf(index)
  }
}
