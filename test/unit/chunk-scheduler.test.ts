/**
 * The chunk scheduler alone (no I/O): fast-check drives it through random interleavings
 * of requests, deliveries, failures, lies, re-registrations and time, the way the download
 * engine does, and checks its invariants after every step:
 * - every chunk is verified exactly once, and the download completes whenever one honest
 *   provider remains (or, with partial providers, honest providers that hold every chunk);
 * - never more than ENDGAME_MAX_COPIES requests of a chunk in flight, never two from one
 *   provider, and the endgame memory stays within its budget;
 * - a dropped provider's chunks are handed out again; a liar is never asked again;
 * - with partial providers, a provider only gets chunks it has, the rarest first, a
 *   random one among equals (seeded here; without `random`, the lowest index); with
 *   complete providers and no `random`, lowest index first.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ChunkScheduler, type ScheduledProvider } from '../../src/peer/download/scheduler.js'
import { ENDGAME_MAX_COPIES } from '../../src/peer/download/tuning.js'

const CHUNK = 16

interface SimProvider {
  key: string
  liar: boolean
  depth: number
  has?: Uint8Array
  speed: { rate: number, lastDone: number, started: number }
  slot: ScheduledProvider
  active: boolean
  /** delivered chunks waiting for verification */
  writing: number[]
}

interface Request { p: SimProvider, index: number }

/** Drives a scheduler like download.ts does and checks the invariants after every step. */
class Sim {
  readonly s: ChunkScheduler
  readonly providers: SimProvider[] = []
  readonly inFlight: Request[] = []
  readonly verifiedTimes: number[]
  readonly liars = new Set<string>()
  now = 1_000

  constructor (readonly total: number, lastLength: number, readonly budgetChunks: number, seed = 1, share?: Uint8Array) {
    this.s = new ChunkScheduler({ size: (total - 1) * CHUNK + lastLength, chunkSize: CHUNK, endgameBufferBytes: budgetChunks * CHUNK, random: seeded(seed) })
    // in a swarm: complete providers are kept to this share while anything is in flight
    if (share != null) this.s.prefer(share)
    this.verifiedTimes = new Array(total).fill(0)
  }

  add (key: string, liar: boolean, depth: number, has?: Uint8Array): SimProvider {
    const speed = { rate: 0, lastDone: 0, started: this.now }
    const p: SimProvider = { key, liar, depth, has, speed, slot: this.s.addProvider(key, speed, has?.slice()), active: true, writing: [] }
    this.providers.push(p)
    return p
  }

  /** A provider connects again (a redial, a refresh): a new registration under the same key. */
  readd (p: SimProvider): void {
    if (p.active) return
    p.speed = { rate: 0, lastDone: 0, started: this.now }
    p.slot = this.s.addProvider(p.key, p.speed, p.has?.slice())
    p.active = true
    if (this.liars.has(p.key)) {
      assert.equal(p.slot.removed, true, 'a liar registers as removed')
      assert.equal(this.s.next(p.slot, this.now), undefined, 'a liar is never asked again')
      p.active = false
    }
  }

  fill (p: SimProvider): void {
    if (!p.active) {
      assert.equal(this.s.next(p.slot, this.now), undefined, 'a removed provider gets no chunk')
      return
    }
    while (p.slot.chunks.size + p.writing.length < p.depth) {
      const index = this.s.next(p.slot, this.now)
      if (index === undefined) return
      assert.ok(!this.liars.has(p.key), 'a liar is never asked again')
      assert.ok(!this.s.isVerified(index), `chunk ${index} handed out after it was verified`)
      assert.ok(!this.inFlight.some(r => r.p === p && r.index === index), 'two requests of one chunk from one provider')
      if (p.has != null) assert.equal(p.has[index], 1, 'a provider only gets chunks it has')
      this.inFlight.push({ p, index })
    }
  }

  /** The request's bytes arrived (end). */
  deliver (r: Request): void {
    this.inFlight.splice(this.inFlight.indexOf(r), 1)
    this.s.settle(r.p.slot, r.index)
    if (!this.s.isVerified(r.index)) r.p.writing.push(r.index)
  }

  /** The request failed: the provider is removed with its other requests (the session aborts). */
  fail (r: Request): void {
    this.inFlight.splice(this.inFlight.indexOf(r), 1)
    this.s.settle(r.p.slot, r.index)
    this.s.requeue(r.index)
    this.remove(r.p)
  }

  private remove (p: SimProvider): void {
    const lost = this.inFlight.filter(r => r.p === p)
    this.s.removeProvider(p.slot)
    p.active = false
    for (const r of lost) {
      this.inFlight.splice(this.inFlight.indexOf(r), 1)
      this.s.settle(p.slot, r.index) // the aborted session fails them after the removal: no-ops
      this.s.requeue(r.index)
    }
    // its chunks are in flight only where other providers asked for them (check()), else queued (drain())
  }

  /** The writer thread verified (or rejected) the oldest chunk this provider delivered. */
  verify (p: SimProvider, rate: number): void {
    const index = p.writing.shift()
    if (index === undefined) return
    if (p.liar) {
      this.liars.add(p.key)
      const wasActive = p.active && !p.slot.removed
      this.s.reject(p.slot, index)
      assert.ok(this.s.liars.has(p.key))
      if (wasActive) this.remove(p)
      p.active = false
      return
    }
    if (this.s.markVerified(index)) {
      this.verifiedTimes[index]++
      p.speed.lastDone = this.now
      p.speed.rate = rate
    }
  }

  check (): void {
    const counts = new Map<number, number>()
    for (const r of this.inFlight) counts.set(r.index, (counts.get(r.index) ?? 0) + 1)
    for (let i = 0; i < this.total; i++) {
      const n = counts.get(i) ?? 0
      assert.ok(n <= ENDGAME_MAX_COPIES, `chunk ${i}: ${n} copies in flight`)
      assert.equal(this.s.copies(i), n, `chunk ${i}: scheduler and requests disagree`)
      assert.ok(this.verifiedTimes[i] <= 1, `chunk ${i} verified twice`)
    }
    for (const p of this.providers) {
      if (!p.active) continue
      assert.deepEqual([...p.slot.chunks].sort((a, b) => a - b), this.inFlight.filter(r => r.p === p).map(r => r.index).sort((a, b) => a - b))
    }
    assert.ok(this.s.bufferedBytes >= 0 && this.s.bufferedBytes <= this.budgetChunks * CHUNK, 'endgame buffer out of bounds')
    assert.equal(this.s.verifiedCount, this.verifiedTimes.reduce((a, b) => a + b, 0))
  }

  /** Random steps: each choice is [operation, a, b]. */
  step ([op, a, b]: [number, number, number]): void {
    const p = this.providers[a % this.providers.length]
    switch (op) {
      case 0: this.fill(p); break
      case 1: if (this.inFlight.length > 0) this.deliver(this.inFlight[b % this.inFlight.length]); break
      case 2: if (this.inFlight.length > 0) this.fail(this.inFlight[b % this.inFlight.length]); break
      case 3: this.verify(p, (b % 50 + 1) * 1000); break
      case 4: this.readd(p); break
      default: this.now += b % 3_000
    }
    this.check()
  }

  /** Honest providers serve until the end: the download must complete, each chunk verified once. */
  drain (): void {
    for (const p of this.providers) if (!p.liar) this.readd(p)
    for (let round = 0; !this.s.done; round++) {
      assert.ok(round < this.total * 4 + 20, `no progress: ${this.s.verifiedCount}/${this.total} verified`)
      for (const p of this.providers) this.fill(p)
      for (const r of [...this.inFlight]) this.deliver(r)
      for (const p of this.providers) while (p.writing.length > 0) this.verify(p, 10_000)
      this.now += 100
      this.check()
    }
    assert.deepEqual(this.verifiedTimes, new Array(this.total).fill(1), 'every chunk verified exactly once')
  }
}

/** A small seeded PRNG (mulberry32): the scheduler's random choices, reproducible. */
function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const step = fc.tuple(fc.nat(5), fc.nat(1000), fc.nat(100_000))

describe('chunk scheduler (fast-check)', () => {
  it('complete providers: every chunk verified exactly once, ≤ 2 copies, liars never asked again, completes while one honest provider remains', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: CHUNK }), fc.integer({ min: 0, max: 6 }),
      fc.array(fc.record({ liar: fc.boolean(), depth: fc.integer({ min: 1, max: 6 }) }), { minLength: 0, maxLength: 4 }),
      fc.integer({ min: 1, max: 6 }), fc.array(step, { maxLength: 300 }), fc.nat(), fc.option(fc.array(fc.boolean(), { minLength: 40, maxLength: 40 })),
      (total, lastLength, budget, others, honestDepth, steps, seed, share) => {
        const sim = new Sim(total, lastLength, budget, seed, share == null ? undefined : Uint8Array.from(share.slice(0, total), b => b ? 1 : 0))
        sim.add('honest', false, honestDepth)
        others.forEach((o, i) => sim.add(`p${i}`, o.liar, o.depth))
        for (const s of steps) sim.step(s)
        sim.drain()
      }), { numRuns: 300 })
  })

  it('partial providers: only chunks a provider has, rarest first, completes when honest providers together hold every chunk', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 30 }).chain(total => fc.tuple(
        fc.constant(total),
        fc.array(fc.record({ liar: fc.boolean(), depth: fc.integer({ min: 1, max: 5 }), has: fc.array(fc.boolean(), { minLength: total, maxLength: total }) }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.boolean(), { minLength: total, maxLength: total })
      )),
      fc.integer({ min: 0, max: 4 }), fc.array(step, { maxLength: 300 }), fc.nat(), fc.option(fc.array(fc.boolean(), { minLength: 30, maxLength: 30 })),
      ([total, providers, partialHonest], budget, steps, seed, share) => {
        const sim = new Sim(total, CHUNK, budget, seed, share == null ? undefined : Uint8Array.from(share.slice(0, total), b => b ? 1 : 0))
        // two honest providers whose chunks together cover the file (one of them may hold everything)
        const bits = (f: (i: number) => boolean): Uint8Array => Uint8Array.from({ length: total }, (_, i) => f(i) ? 1 : 0)
        sim.add('honest-a', false, 3, bits(i => partialHonest[i]))
        sim.add('honest-b', false, 2, bits(i => !partialHonest[i] || i % 3 === 0))
        providers.forEach((o, i) => sim.add(`p${i}`, o.liar, o.depth, bits(j => o.has[j])))
        for (const s of steps) sim.step(s)
        sim.drain()
      }), { numRuns: 200 })
  })

  it('partial providers: next() picks the rarest queued chunk the asker has, lowest index among equals', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 30 }).chain(total => fc.tuple(
        fc.constant(total),
        fc.array(fc.option(fc.array(fc.boolean(), { minLength: total, maxLength: total }), { nil: undefined }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(10), { maxLength: 60 })
      )),
      ([total, hasLists, askers]) => {
        // no endgame: the queue alone decides
        const s = new ChunkScheduler({ size: total * CHUNK, chunkSize: CHUNK, endgameBufferBytes: 0, random: null })
        const has = hasLists.map(h => h == null ? undefined : Uint8Array.from(h, b => b ? 1 : 0))
        const slots = has.map((h, i) => s.addProvider(`p${i}`, { rate: 0, lastDone: 0, started: 0 }, h?.slice()))
        const holders = (i: number): number => has.filter(h => h == null || h[i] === 1).length
        const handed = new Set<number>()
        for (const a of askers) {
          const k = a % slots.length
          const mine = [...Array(total).keys()].filter(i => !handed.has(i) && (has[k] == null || has[k]![i] === 1))
          const got = s.next(slots[k], 0)
          if (mine.length === 0) {
            assert.equal(got, undefined)
            continue
          }
          const rarest = Math.min(...mine.map(holders))
          assert.equal(got, mine.find(i => holders(i) === rarest), 'the rarest chunk, lowest index among equals')
          handed.add(got!)
        }
      }), { numRuns: 300 })
  })

  it('partial providers, seeded random: next() picks one of the rarest queued chunks the asker has', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 30 }).chain(total => fc.tuple(
        fc.constant(total),
        fc.array(fc.option(fc.array(fc.boolean(), { minLength: total, maxLength: total }), { nil: undefined }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(10), { maxLength: 60 })
      )), fc.nat(),
      ([total, hasLists, askers], seed) => {
        const s = new ChunkScheduler({ size: total * CHUNK, chunkSize: CHUNK, endgameBufferBytes: 0, random: seeded(seed) })
        const has = hasLists.map(h => h == null ? undefined : Uint8Array.from(h, b => b ? 1 : 0))
        const slots = has.map((h, i) => s.addProvider(`p${i}`, { rate: 0, lastDone: 0, started: 0 }, h?.slice()))
        const holders = (i: number): number => has.filter(h => h == null || h[i] === 1).length
        const handed = new Set<number>()
        for (const a of askers) {
          const k = a % slots.length
          const mine = [...Array(total).keys()].filter(i => !handed.has(i) && (has[k] == null || has[k]![i] === 1))
          const got = s.next(slots[k], 0)
          if (mine.length === 0) {
            assert.equal(got, undefined)
            continue
          }
          const rarest = Math.min(...mine.map(holders))
          assert.ok(got !== undefined && mine.includes(got) && holders(got) === rarest, 'one of the rarest chunks the asker has')
          handed.add(got)
        }
      }), { numRuns: 300 })
  })

  it('complete providers, random: downloaders that start together take different chunks', () => {
    // 8 downloaders each take 4 chunks of 64 from one seeder: in order they would all take 0-3
    const firsts = new Set<number>()
    for (let d = 0; d < 8; d++) {
      const s = new ChunkScheduler({ size: 64 * CHUNK, chunkSize: CHUNK, random: seeded(d + 1) })
      const seeder = s.addProvider('seeder', { rate: 0, lastDone: 0, started: 0 })
      for (let k = 0; k < 4; k++) firsts.add(s.next(seeder, 0)!)
    }
    assert.ok(firsts.size > 16, `${firsts.size} distinct chunks among 32 picks`)
  })

  it('a dropped provider\'s chunks are handed out again, before the rest of the queue', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 8 }), (total, depth) => {
      const s = new ChunkScheduler({ size: total * CHUNK, chunkSize: CHUNK, endgameBufferBytes: 0 })
      const speed = { rate: 0, lastDone: 0, started: 0 }
      const a = s.addProvider('a', speed)
      const b = s.addProvider('b', speed)
      const taken: number[] = []
      for (let i = 0; i < depth; i++) {
        const index = s.next(a, 0)
        if (index !== undefined) taken.push(index)
      }
      s.removeProvider(a)
      assert.equal(s.next(a, 0), undefined)
      const again = taken.map(() => s.next(b, 0))
      assert.deepEqual([...again].sort((x, y) => x! - y!), [...taken].sort((x, y) => x - y))
    }))
  })
})

describe('chunk scheduler', () => {
  const speed = (rate: number, lastDone: number, started = 0): { rate: number, lastDone: number, started: number } => ({ rate, lastDone, started })

  it('hands out chunks lowest index first with complete providers (no random), and a failed one first again', () => {
    const s = new ChunkScheduler({ size: 5 * CHUNK - 3, chunkSize: CHUNK, random: null })
    const a = s.addProvider('a', speed(0, 0))
    const b = s.addProvider('b', speed(0, 0))
    assert.deepEqual([s.next(a, 0), s.next(b, 0), s.next(a, 0)], [0, 1, 2])
    assert.equal(s.lengthOf(4), CHUNK - 3)
    s.settle(b, 1)
    s.requeue(1)
    assert.equal(s.next(a, 0), 1)
  })

  it('skips verified chunks (resume) and counts their bytes', () => {
    const verified = Uint8Array.from([1, 0, 1, 0])
    const s = new ChunkScheduler({ size: 4 * CHUNK - 1, chunkSize: CHUNK, verified, random: null })
    assert.equal(s.verifiedCount, 2)
    assert.equal(s.verifiedBytes, 2 * CHUNK)
    const a = s.addProvider('a', speed(0, 0))
    assert.deepEqual([s.next(a, 0), s.next(a, 0), s.next(a, 0)], [1, 3, undefined])
  })

  it('rarest first: a chunk only one provider has goes first', () => {
    const s = new ChunkScheduler({ size: 4 * CHUNK, chunkSize: CHUNK, random: null })
    const full = s.addProvider('full', speed(0, 0))
    const half = s.addProvider('half', speed(0, 0), Uint8Array.from([1, 1, 0, 0]))
    assert.equal(s.next(full, 0), 2, 'chunks 2 and 3 are held by one provider only')
    assert.equal(s.next(half, 0), 0)
    s.announce(half, 3)
    assert.equal(s.next(full, 0), 1, 'chunk 3 is now held twice, like 1')
  })

  it('endgame: copies the slowest holder\'s chunk, at most twice, not from a faster holder', () => {
    const now = 10_000
    const s = new ChunkScheduler({ size: 3 * CHUNK, chunkSize: CHUNK, random: null })
    const slow = s.addProvider('slow', speed(1_000, now - 100))
    const fast = s.addProvider('fast', speed(50_000, now - 100))
    const third = s.addProvider('third', speed(10_000, now - 100))
    assert.equal(s.next(slow, now), 0)
    assert.equal(s.next(fast, now), 1)
    assert.equal(s.next(slow, now), 2)
    assert.equal(s.next(third, now), 0, 'the slow holder\'s oldest chunk')
    assert.equal(s.bufferedBytes, CHUNK)
    assert.equal(s.next(third, now), 2)
    assert.equal(s.next(third, now), undefined, 'not the faster holder\'s chunk')
    assert.equal(s.next(fast, now), undefined, 'chunks 0 and 2 have two copies already')
    s.settle(slow, 0)
    assert.equal(s.copies(0), 1)
    assert.equal(s.markVerified(0), true)
    assert.equal(s.markVerified(0), false, 'the first verified copy wins')
    s.settle(third, 0)
    assert.equal(s.bufferedBytes, CHUNK)
  })

  it('in a swarm, a complete provider gets only our share\'s chunks that no partial provider holds, and any chunk once nothing is in flight', () => {
    const s = new ChunkScheduler({ size: 6 * CHUNK, chunkSize: CHUNK, random: null })
    const seeder = s.addProvider('seeder', speed(0, 0))
    const peer = s.addProvider('peer', speed(0, 0), Uint8Array.from([0, 0, 1, 0, 0, 0]))
    // our share: chunks 0, 2 and 4; 1, 3 and 5 are other members' to fetch from the seeder
    s.prefer(Uint8Array.from([1, 0, 1, 0, 1, 0]))
    assert.equal(s.next(peer, 0), 2, 'the partial provider\'s chunk')
    assert.equal(s.next(seeder, 0), 0)
    assert.equal(s.next(seeder, 0), 4, 'not 1 or 3: another member fetches those')
    assert.equal(s.next(seeder, 0), undefined, 'no other member\'s chunk, no endgame copy while chunks wait for their owners')
    s.announce(peer, 1)
    assert.equal(s.next(peer, 0), 1)
    for (const [p, index] of [[peer, 2], [seeder, 0], [seeder, 4], [peer, 1]] as const) {
      s.settle(p, index)
      s.markVerified(index)
    }
    assert.equal(s.next(seeder, 0), 3, 'nothing in flight: the seeder is asked for what is left')
    assert.equal(s.next(seeder, 0), 5)
    s.prefer(null)
    assert.equal(s.next(s.addProvider('other', speed(0, 0)), 0), 3, 'without a share: endgame copies again')
  })

  it('in a swarm, complete providers are asked for the rarest again once every chunk we miss is held by a partial provider', () => {
    const s = new ChunkScheduler({ size: 4 * CHUNK, chunkSize: CHUNK, random: null })
    const seeder = s.addProvider('seeder', speed(0, 0))
    const a = s.addProvider('a', speed(0, 0), Uint8Array.from([1, 0, 0, 0]))
    const b = s.addProvider('b', speed(0, 0), Uint8Array.from([0, 0, 0, 0]))
    s.prefer(Uint8Array.from([1, 0, 0, 0])) // chunk 0 is ours, held by a already
    assert.equal(s.next(a, 0), 0)
    assert.equal(s.next(seeder, 0), undefined, 'chunks 1-3 are other members\' to fetch')
    for (const index of [1, 2]) s.announce(a, index)
    s.announce(b, 2)
    assert.equal(s.next(seeder, 0), undefined, 'chunk 3 is still out of the swarm')
    s.announce(b, 3)
    assert.equal(s.next(seeder, 0), 1, 'all out in the swarm: the seeder relieves the holders, rarest first (1 and 3 have one holder)')
    assert.equal(s.next(seeder, 0), 3)
  })

  it('while chunks still wait, a partial provider copies only a stalled holder\'s chunk', () => {
    const s = new ChunkScheduler({ size: 3 * CHUNK, chunkSize: CHUNK, random: null, staleMs: 1_000, stalledMs: 5_000 })
    const seeder = s.addProvider('seeder', speed(0, 0))
    assert.equal(s.next(seeder, 0), 0)
    const peer = s.addProvider('peer', speed(0, 0), Uint8Array.from([1, 0, 0]))
    // chunks 1 and 2 wait in the queue; the peer holds only chunk 0, in flight at the seeder
    assert.equal(s.next(peer, 2_000), undefined, 'the seeder is slow (stale), not stalled: no copy')
    assert.equal(s.next(peer, 6_000), 0, 'stalled for 6 s: copied')
  })

  it('a liar is never asked again, under any registration', () => {
    const s = new ChunkScheduler({ size: 3 * CHUNK, chunkSize: CHUNK })
    const liar = s.addProvider('liar', speed(0, 0))
    const index = s.next(liar, 0)!
    s.settle(liar, index)
    s.reject(liar, index)
    assert.equal(s.next(liar, 0), undefined)
    assert.equal(s.next(s.addProvider('liar', speed(0, 0)), 0), undefined)
    assert.equal(s.next(s.addProvider('honest', speed(0, 0)), 0), index, 'the rejected chunk goes first')
  })
})
