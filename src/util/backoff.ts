/**
 * Exponential backoff: the one retry schedule of the project (registration, reachability,
 * BUSY providers). `backoffDelay` is the pure schedule; `Backoff` keeps the attempt count
 * for a loop that retries until it succeeds (and starts over after a success).
 */

export interface BackoffBounds {
  /** the first delay */
  minMs: number
  /** delays double up to this */
  maxMs: number
}

/** The delay before retry number `attempt` (1 = the first retry): minMs · 2^(attempt−1), at most maxMs. */
export function backoffDelay (attempt: number, { minMs, maxMs }: BackoffBounds): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1))
}

export class Backoff {
  private attempt = 0

  constructor (private readonly bounds: BackoffBounds) {}

  /** The delay before the next retry (minMs, then doubling up to maxMs) */
  next (): number {
    this.attempt++
    return backoffDelay(this.attempt, this.bounds)
  }

  /** The delay next() would return now, without counting an attempt. */
  peek (): number {
    return backoffDelay(this.attempt + 1, this.bounds)
  }

  /** After a success: the next failure waits minMs again. */
  reset (): void {
    this.attempt = 0
  }
}
