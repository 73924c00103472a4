/**
 * The master's index lane: where the heavy index work runs (register batches, searches),
 * so that a flood of it cannot hold the event loop that serves lookups.
 *
 * SQLite calls are synchronous: a 200-record register batch takes 10–50 ms of the event
 * loop, a broad search as long. Run straight from the request handlers, 200 flooding keys
 * keep the loop busy back to back and every other request (a lookup takes 0.2 ms) waits
 * behind them. Here:
 * - work is cut in slices (a register batch in chunks of a few dozen records) that run one
 *   at a time, and after a slice of d ms the lane rests d·(1 − duty)/duty ms: the rest of the
 *   master (lookups, handshakes, liveness) always has the remaining share of the loop;
 * - the next slice is picked round-robin over IPs, then over the keys of that IP (fair
 *   queues: one IP's flood cannot starve another IP, one key cannot starve another key
 *   behind the same NAT);
 * - each IP has a budget of lane time (a token bucket in ms, charged with the measured
 *   time of its slices), and so has each key; a request is refused at once (RATE_LIMITED,
 *   nothing touches SQLite) when its key is over budget, or when its IP is over budget and
 *   the key has itself been busy lately: a quiet key of a busy household still gets in.
 *   Queues are bounded per key, per IP and in all; when the lane is full, a request of an
 *   IP with less waiting pushes out the newest request of the IP with the most (answered
 *   RATE_LIMITED): a flood from some IPs cannot fill the lane against a quiet one.
 * - the wait a request is refused for (maxWaitMs) is its own: in round-robin it waits for
 *   its own IP's work ahead of it and for as much of each other IP's, not for all the
 *   lane holds (one IP's backlog must not refuse another IP's requests).
 */
import { logger } from '@libp2p/logger'
import { FileShareError } from '../errors.js'

const log = logger('fileshare:master:index-lane')
/** every refusal with its reason (diagnosis; off by default) */
const refusedLog = logger('fileshare:master:index-lane:refused')

export interface IndexLaneOptions {
  /** ms of lane time per second one IP earns (token bucket refill) */
  msPerIpPerSecond: number
  /** ms of lane time one IP may bank (token bucket size) */
  burstMsPerIp: number
  /** share of the event loop the lane may take while it has work (0 < duty ≤ 1) */
  duty: number
  /** requests one key may have waiting */
  maxQueuedPerKey: number
  /** requests one IP may have waiting */
  maxQueuedPerIp: number
  /** requests waiting in all */
  maxQueued: number
  /** a request that would wait longer than this (estimated) is refused, ms */
  maxWaitMs: number
}

interface Bucket {
  tokens: number
  at: number
}

interface Job {
  /** the estimate charged per step at admission (corrected by the measured time as each runs) */
  estimate: number
  steps: Array<() => unknown>
  results: unknown[]
  resolve: (results: unknown[]) => void
  reject: (err: unknown) => void
}

interface IpQueue {
  /** keys with work waiting, in round-robin order */
  keys: Map<string, Job[]>
  /** requests of this IP waiting (or running) */
  queued: number
  /** estimated ms of this IP's slices waiting */
  pendingMs: number
}

/** Key and IP budgets not touched for this long are forgotten (they would be full again). */
const FORGET_MS = 60_000
/** A slice's cost before any was measured, ms. */
const FIRST_ESTIMATE_MS = 5

export class IndexLane {
  private readonly queues = new Map<string, IpQueue>()
  private readonly ipBuckets = new Map<string, Bucket>()
  private readonly keyBuckets = new Map<string, Bucket>()
  private queued = 0
  private running = false
  private timer: NodeJS.Timeout | null = null
  private lastForget = Date.now()
  /** moving average of a slice's measured time, ms */
  private sliceMs = FIRST_ESTIMATE_MS
  /** estimated ms of the slices waiting */
  private pendingMs = 0
  private stopped = false
  /** work the lane waits for before its next slice (a checkpoint of the index's log) */
  private held: Promise<unknown> | null = null
  /** requests refused for budget or queue length so far */
  refused = 0

  constructor (private readonly options: IndexLaneOptions) {}

  /** Per-key budget: a quarter of its IP's (so a household's keys share the IP's budget fairly). */
  private get keyRate (): number { return this.options.msPerIpPerSecond / 4 }
  private get keyBurst (): number { return this.options.burstMsPerIp / 4 }

  /**
   * Whether a request of `key` from `ip` of `slices` slices may queue now (no SQLite
   * touched). Budgets are charged at admission with the estimated cost (so queued work
   * counts), corrected as the slices run. A key over its own budget is refused; a key whose
   * IP is over budget too, unless the key itself has been quiet lately (at least half of its
   * burst left) and the IP's debt is under one burst: a quiet key of a busy household still
   * gets in, a crowd of fresh keys does not. Also refused: a request that would wait in the
   * lane longer than maxWaitMs.
   */
  admit (ip: string, key: string, slices = 1): boolean {
    if (this.stopped) return false
    const now = Date.now()
    this.forget(now)
    const cost = slices * this.sliceMs
    const keyTokens = this.level(this.keyBuckets, key, this.keyRate, this.keyBurst, now)
    const ipTokens = this.level(this.ipBuckets, ip, this.options.msPerIpPerSecond, this.options.burstMsPerIp, now)
    const waiting = this.queues.get(ip)
    const ipQueued = waiting?.queued ?? 0
    const keyQueued = waiting?.keys.get(key)?.length ?? 0
    const quiet = keyTokens >= this.keyBurst / 2
    const reason = keyTokens <= 0
      ? 'key budget'
      : !(ipTokens > 0 || (quiet && ipTokens > -this.options.burstMsPerIp))
          ? 'IP budget'
          : keyQueued >= this.options.maxQueuedPerKey
            ? 'key queue'
            : ipQueued >= this.options.maxQueuedPerIp
              ? 'IP queue'
              : this.queued >= this.options.maxQueued && !this.pushOut(ipQueued)
                ? 'lane queue'
                : this.waitMs(waiting, cost) > this.options.maxWaitMs ? 'lane wait' : null
    const ok = reason == null
    if (ok) {
      this.charge(this.keyBuckets, key, cost, this.keyRate, this.keyBurst, now)
      this.charge(this.ipBuckets, ip, cost, this.options.msPerIpPerSecond, this.options.burstMsPerIp, now)
    } else {
      this.refused++
      if (this.refused % 1000 === 1) log('refusing index work of %s from %s (key %d ms, IP %d ms of budget, %d queued)', key, ip, Math.round(keyTokens), Math.round(ipTokens), this.queued)
      refusedLog('%s from %s refused: %s (key %d ms, IP %d ms, %d queued, %d ms pending)', key, ip, reason, Math.round(keyTokens), Math.round(ipTokens), this.queued, Math.round(this.pendingMs))
    }
    return ok
  }

  /** Requests waiting in the lane (or running), in all. */
  get waiting (): number {
    return this.queued
  }

  /** How long the work waiting in the lane, all IPs together, would take to run at the duty, ms (estimated). */
  get backlogMs (): number {
    return this.pendingMs / this.options.duty
  }

  /**
   * How long a new request of `cost` ms from the IP whose queue is `own` would wait, ms:
   * round-robin over IPs runs its IP's work ahead of it, and of each other IP at most as much.
   */
  private waitMs (own: IpQueue | undefined, cost: number): number {
    const mine = (own?.pendingMs ?? 0) + cost
    let ahead = 0
    for (const q of this.queues.values()) if (q !== own) ahead += Math.min(q.pendingMs, mine)
    return (ahead + mine) / this.options.duty
  }

  /**
   * The lane is full: refuses the newest request of the IP with the most waiting, if that
   * IP has more than one request more than the newcomer's (`ipQueued`); whether one was.
   */
  private pushOut (ipQueued: number): boolean {
    let heaviest: [string, IpQueue] | undefined
    for (const entry of this.queues) if (heaviest == null || entry[1].queued > heaviest[1].queued) heaviest = entry
    if (heaviest == null || heaviest[1].queued <= ipQueued + 1) return false
    const [ip, q] = heaviest
    // the key of that IP with the most waiting gives up its newest request not yet started
    let victim: [string, Job[]] | undefined
    for (const entry of q.keys) if (victim == null || entry[1].length > victim[1].length) victim = entry
    if (victim == null) return false
    const [key, jobs] = victim
    const job = jobs[jobs.length - 1]
    if (job == null || job.results.length > 0) return false
    jobs.pop()
    if (jobs.length === 0) q.keys.delete(key)
    if (q.keys.size === 0) this.queues.delete(ip)
    this.dequeued(q, job.estimate * job.steps.length)
    job.reject(new FileShareError('RATE_LIMITED', 'the index lane is full: pushed out for a request of a less busy IP address'))
    this.refused++
    return true
  }

  /** Bookkeeping of a job leaving the lane with `pendingMs` of its estimate not yet run. */
  private dequeued (q: IpQueue, pendingMs: number): void {
    this.queued--
    q.queued--
    this.pendingMs -= pendingMs
    q.pendingMs -= pendingMs
  }

  /**
   * Runs `steps` in order as slices of the lane, charged to `key` and `ip`; resolves with
   * their results (rejects with the first step's error, later steps skipped). Call admit() first.
   */
  async run<T> (ip: string, key: string, steps: Array<() => T>): Promise<T[]> {
    if (this.stopped) throw new Error('the index lane is stopped')
    const estimate = this.sliceMs
    return await new Promise<T[]>((resolve, reject) => {
      let q = this.queues.get(ip)
      if (q == null) this.queues.set(ip, q = { keys: new Map(), queued: 0, pendingMs: 0 })
      let jobs = q.keys.get(key)
      if (jobs == null) q.keys.set(key, jobs = [])
      jobs.push({ estimate, steps, results: [], resolve: resolve as (r: unknown[]) => void, reject })
      this.queued++
      q.queued++
      this.pendingMs += estimate * steps.length
      q.pendingMs += estimate * steps.length
      this.kick()
    })
  }

  stop (): void {
    this.stopped = true
    if (this.timer != null) clearTimeout(this.timer)
    this.timer = null
    for (const q of this.queues.values()) {
      for (const jobs of q.keys.values()) for (const job of jobs) job.reject(new Error('the master is stopping'))
    }
    this.queues.clear()
    this.queued = 0
    this.pendingMs = 0
  }

  /**
   * Runs no slice until `work` has settled (a slice running goes on to its end): the index's
   * log is checkpointed while nothing writes to it. One hold at a time; a second call while
   * one is held is ignored.
   */
  hold (work: Promise<unknown>): void {
    if (this.held != null || this.stopped) return
    const held = this.held = work.catch(() => {}).finally(() => {
      if (this.held === held) this.held = null
      this.kick()
    })
  }

  private kick (): void {
    if (this.running || this.timer != null || this.stopped || this.held != null) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.slice()
    }, 0)
  }

  /** Runs one step of the next job (round-robin: IPs, then the keys of the IP), then rests. */
  private slice (): void {
    if (this.held != null) return // kicked again when the hold ends
    const first = this.queues.entries().next()
    if (first.done === true) return
    const [ip, q] = first.value
    const keyEntry = q.keys.entries().next()
    if (keyEntry.done === true) {
      this.queues.delete(ip)
      this.kick()
      return
    }
    const [key, jobs] = keyEntry.value
    const job = jobs[0]
    const step = job.steps[job.results.length]
    this.running = true
    const started = performance.now()
    const cpuBefore = process.cpuUsage()
    let failed: unknown
    let failedAtAll = false
    try {
      job.results.push(step())
    } catch (err) {
      failed = err
      failedAtAll = true
    }
    const took = performance.now() - started
    // budgets are charged in CPU time: time the master was descheduled (a loaded host) is not the requester's doing
    const cpu = process.cpuUsage(cpuBefore)
    const cost = Math.min(took, (cpu.user + cpu.system) / 1000)
    this.running = false
    const now = Date.now()
    // admission charged the estimate: charge the difference
    this.charge(this.keyBuckets, key, cost - job.estimate, this.keyRate, this.keyBurst, now)
    this.charge(this.ipBuckets, ip, cost - job.estimate, this.options.msPerIpPerSecond, this.options.burstMsPerIp, now)
    this.sliceMs = this.sliceMs * 0.9 + took * 0.1
    this.pendingMs -= job.estimate
    q.pendingMs -= job.estimate
    const done = failedAtAll || job.results.length >= job.steps.length
    if (done) {
      jobs.shift()
      // steps skipped after a failure were estimated too
      this.dequeued(q, job.estimate * (job.steps.length - job.results.length - (failedAtAll ? 1 : 0)))
      if (failedAtAll) job.reject(failed)
      else job.resolve(job.results)
    }
    // round-robin: this key goes to the back of its IP, this IP to the back of the lane
    q.keys.delete(key)
    if (jobs.length > 0) q.keys.set(key, jobs)
    this.queues.delete(ip)
    if (q.keys.size > 0) this.queues.set(ip, q)
    if (this.queues.size === 0 || this.stopped) return
    const rest = took * (1 - this.options.duty) / this.options.duty
    this.timer = setTimeout(() => {
      this.timer = null
      this.slice()
    }, Math.floor(rest))
  }

  private level (buckets: Map<string, Bucket>, id: string, rate: number, burst: number, now: number): number {
    const b = buckets.get(id)
    if (b == null) return burst
    return Math.min(burst, b.tokens + (now - b.at) * rate / 1000)
  }

  private charge (buckets: Map<string, Bucket>, id: string, ms: number, rate: number, burst: number, now: number): void {
    buckets.set(id, { tokens: this.level(buckets, id, rate, burst, now) - ms, at: now })
  }

  /** Drops buckets that have refilled (bounded memory whatever the number of keys). */
  private forget (now: number): void {
    if (now - this.lastForget < FORGET_MS) return
    this.lastForget = now
    for (const buckets of [this.keyBuckets, this.ipBuckets]) {
      for (const [id, b] of buckets) if (now - b.at > FORGET_MS) buckets.delete(id)
    }
  }
}
