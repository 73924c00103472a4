/**
 * The master's per-peer request budget: a token bucket per remote PeerId, one per master
 * protocol (register, lookup), so one peer's flood cannot starve the others.
 */
import { RateLimiter } from '@libp2p/utils'
import { MASTER_REQUESTS_PER_SECOND, MASTER_REQUEST_BURST } from './tuning.js'

/** A per-peer token bucket (RateLimiter counts whole seconds: points per duration). */
export function peerRateLimiter (perSecond = MASTER_REQUESTS_PER_SECOND, burst = MASTER_REQUEST_BURST): RateLimiter {
  return new RateLimiter({ points: burst, duration: Math.max(1, Math.ceil(burst / perSecond)) })
}
