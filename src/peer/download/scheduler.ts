/**
 * Which chunk goes to which provider next: the download's chunk bookkeeping, with no I/O,
 * no timers and no libp2p (the caller passes `now`), so it can be tested alone.
 *
 * 1. Chunks not yet verified wait in one queue, lowest index first. A provider asks
 *    `next(provider, now)` for a chunk each time it has room in its pipeline (the depth
 *    the rate estimator sets) and gets the first queued chunk it has.
 * 2. Chunks a provider has: a provider registers with an optional `has` bitfield (one
 *    byte per chunk, 1 = it has the chunk; default: it has every chunk). As long as every
 *    provider has every chunk, `next` takes the queue in order. Once one provider is
 *    partial, `next` picks among the queued chunks the asker has the rarest (held by the
 *    fewest providers), the earliest in the queue among equals. `announce` records a
 *    chunk a partial provider gained.
 * 3. Endgame: when the queue holds nothing for the asker, it may get a second copy of a
 *    chunk in flight elsewhere (at most ENDGAME_MAX_COPIES copies of a chunk; second
 *    copies hold their chunk in memory, at most ENDGAME_BUFFER_BYTES in all): the one whose
 *    holder (the provider of its first request) is slowest, and only when that holder is
 *    not faster than the asker (a holder that finished nothing for ENDGAME_STALE_MS counts
 *    as speed 0, an asker that has finished nothing yet as infinitely fast); oldest first
 *    on ties.
 * 4. A request ends with `settle` (its bytes arrived, or it failed). A chunk that arrived
 *    is verified by the caller: `markVerified` says whether this was its first verified
 *    copy (later copies are dropped); `reject` puts it back and marks the provider a liar,
 *    never to be asked again (not even under a new registration). `requeue` puts a failed
 *    chunk back at the front of the queue unless it is verified or another copy is in flight.
 * 5. `removeProvider` (a provider failed or lied) settles its requests and puts their
 *    chunks back, so the providers left get them.
 */
import { chunkCount } from '../../content/content-id.js'
import { ENDGAME_BUFFER_BYTES, ENDGAME_MAX_COPIES, ENDGAME_STALE_MS } from './tuning.js'

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
  private readonly flights = new Map<number, Flight>()
  private bufferedBytesValue = 0
  private readonly endgameBufferBytes: number
  private readonly maxCopies: number
  private readonly staleMs: number
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
  get queued (): number { return this.queue.length }
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
    const index = this.nextQueued(p) ?? this.endgameChunk(p, now)
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

  /** Puts a chunk back at the front of the queue unless it is verified or another copy is in flight. */
  requeue (index: number): void {
    if (this.verified[index] === 0 && !this.flights.has(index)) this.queue.unshift(index)
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

  private nextQueued (p: Provider): number | undefined {
    if (this.partial === 0) {
      while (this.queue.length > 0) {
        const index = this.queue.shift()!
        if (this.verified[index] === 0 && !this.flights.has(index)) return index
      }
      return undefined
    }
    // some provider is partial: the rarest queued chunk `p` has, the earliest among equals
    const availability = this.availability!
    let best = -1
    let bestAvailability = Infinity
    let write = 0
    for (let read = 0; read < this.queue.length; read++) {
      const index = this.queue[read]
      if (this.verified[index] !== 0 || this.flights.has(index)) continue // drop stale entries
      this.queue[write++] = index
      if (p.has != null && p.has[index] === 0) continue
      const held = this.complete + availability[index]
      if (held < bestAvailability) {
        best = write - 1
        bestAvailability = held
      }
    }
    this.queue.length = write
    if (best < 0) return undefined
    return this.queue.splice(best, 1)[0]
  }

  private endgameChunk (p: Provider, now: number): number | undefined {
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
      const rate = holder == null || now - Math.max(holder.speed.lastDone, holder.speed.started) > this.staleMs ? 0 : holder.speed.rate
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
    // a second copy counts against the endgame memory budget
    if (flight.holder == null) flight.holder = p
    else this.bufferedBytesValue += this.lengthOf(index)
  }
}
