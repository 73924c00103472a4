/**
 * A provider's speed and the pipeline depth that follows it.
 *
 * Speed is the bytes verified over a sliding window of RATE_WINDOW_MS (chunks complete in
 * bursts, so per-chunk intervals are far too noisy), or since the provider started when it
 * is younger (at least RATE_MIN_SPAN_MS). The depth (requests kept in flight) aims at
 * DEPTH_TARGET_MS of queued work: a fast provider gets a deeper pipeline, a slow one holds
 * few chunks at the end. It starts at INITIAL_REQUESTS_IN_FLIGHT and stays within
 * [MIN_REQUESTS_IN_FLIGHT, maxDepth]. No timers: the caller passes `now`.
 */
import {
  DEFAULT_REQUESTS_IN_FLIGHT, MIN_REQUESTS_IN_FLIGHT, INITIAL_REQUESTS_IN_FLIGHT, DEPTH_TARGET_MS, RATE_WINDOW_MS, RATE_MIN_SPAN_MS
} from './tuning.js'
import type { ChunkSpeed } from './scheduler.js'

/** The deepest pipeline a download allows (its `requestsInFlight` option, at least MIN_REQUESTS_IN_FLIGHT). */
export function maxDepthFor (requestsInFlight?: number): number {
  return Math.max(MIN_REQUESTS_IN_FLIGHT, requestsInFlight ?? DEFAULT_REQUESTS_IN_FLIGHT)
}

/**
 * The depth of a pipeline while other downloaders of the content are known (a swarm): one
 * request less, at least 1. The request kept beyond the target to cover a round trip is
 * not needed there (the uplinks are shared by several downloaders, and another's request
 * fills the gap), and every chunk queued at a shared uplink delays the chunks behind it:
 * the next chunk reaches the swarm later, and so do the HAVE frames sent behind the data.
 * (flash-crowd bench: at depth 2, 16 chunks of 1 MiB waited at the seeder's uplink at once.)
 */
export function swarmDepth (depth: number): number {
  return Math.max(1, depth - 1)
}

export class RateEstimator implements ChunkSpeed {
  /** bytes per second over the window, 0 until the first chunk */
  rate = 0
  lastDone = 0
  /** requests to keep in flight */
  depth: number
  /** completions in the window: times and byte counts side by side (no allocation per chunk) */
  private readonly times: number[] = []
  private readonly sizes: number[] = []
  /** the bytes of `sizes` */
  private sampledBytes = 0

  constructor (readonly started: number, private readonly maxDepth: number, private readonly chunkSize: number) {
    this.depth = Math.min(maxDepth, INITIAL_REQUESTS_IN_FLIGHT)
  }

  /** A chunk of `bytes` verified at `now`: updates the rate and the depth. */
  record (now: number, bytes: number): void {
    this.lastDone = now
    this.times.push(now)
    this.sizes.push(bytes)
    this.sampledBytes += bytes
    while (this.times[0] < now - RATE_WINDOW_MS) {
      this.times.shift()
      this.sampledBytes -= this.sizes.shift()!
    }
    const span = Math.max(RATE_MIN_SPAN_MS, Math.min(RATE_WINDOW_MS, now - this.started))
    this.rate = this.sampledBytes / span * 1000
    const want = Math.ceil(this.rate * DEPTH_TARGET_MS / 1000 / this.chunkSize) + 1
    this.depth = Math.max(MIN_REQUESTS_IN_FLIGHT, Math.min(this.maxDepth, want))
  }
}

/**
 * A download's byte budget across all its providers (`maxDownloadRate`): a schedule of
 * request start times, one entry per chunk request (no per-byte work). A request may start
 * when the schedule has reached now; it then moves the schedule on by its length / rate,
 * so the bytes requested over any stretch of time stay within rate × time + one chunk.
 * Requests in flight stay bounded by the workers' depth as before: the limit only delays
 * the next request.
 */
export class DownloadRateLimit {
  private nextAt = 0

  /** `bytesPerSecond` > 0 */
  constructor (readonly bytesPerSecond: number) {}

  /** ms until a request may start (0: now) */
  wait (now: number): number {
    return Math.max(0, this.nextAt - now)
  }

  /** a request of `bytes` starts at `now` */
  take (now: number, bytes: number): void {
    this.nextAt = Math.max(now, this.nextAt) + bytes / this.bytesPerSecond * 1000
  }
}
