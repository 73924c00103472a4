/**
 * A per-IP request budget shared fairly by the keys of the IP (a household or a campus
 * behind one NAT): token buckets per IP and per key (a quarter of the IP's), in requests.
 * A request is refused when its key is over its share, or when its IP is over budget and
 * the key itself has been busy lately; a quiet key (at least half of its share left) still
 * gets in while its IP's debt is under one burst. So one key's flood from an IP cannot lock
 * out another key behind the same address, and a crowd of fresh keys cannot lift the IP's
 * budget by more than one burst.
 */
/** Buckets not touched for this long are forgotten (they would be full again), ms. */
const FORGET_MS = 60_000

interface Bucket {
  tokens: number
  at: number
}

export class FairLimiter {
  private readonly ips = new Map<string, Bucket>()
  private readonly keys = new Map<string, Bucket>()
  private lastForget = Date.now()

  /** `perSecond` requests per second from one IP, `burst` banked. */
  constructor (private readonly perSecond: number, private readonly burst: number) {}

  /** Takes one request of `key` from `ip`; throws when it is over budget. */
  consume (ip: string, key: string): void {
    const now = Date.now()
    this.forget(now)
    const keyRate = this.perSecond / 4
    const keyBurst = Math.max(1, this.burst / 4)
    const keyTokens = level(this.keys.get(key), keyRate, keyBurst, now)
    const ipTokens = level(this.ips.get(ip), this.perSecond, this.burst, now)
    const quiet = keyTokens >= keyBurst / 2
    if (keyTokens < 1 || !(ipTokens >= 1 || (quiet && ipTokens > -this.burst))) {
      throw new Error(`over the request budget of ${ip}`)
    }
    this.keys.set(key, { tokens: keyTokens - 1, at: now })
    this.ips.set(ip, { tokens: ipTokens - 1, at: now })
  }

  private forget (now: number): void {
    if (now - this.lastForget < FORGET_MS) return
    this.lastForget = now
    for (const map of [this.ips, this.keys]) {
      for (const [id, b] of map) if (now - b.at > FORGET_MS) map.delete(id)
    }
  }
}

function level (b: Bucket | undefined, rate: number, burst: number, now: number): number {
  if (b == null) return burst
  return Math.min(burst, b.tokens + (now - b.at) * rate / 1000)
}
