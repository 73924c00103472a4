/**
 * The per-IP request budget shared by the keys of the IP (src/master/fair-limiter.ts).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FairLimiter } from '../../src/master/fair-limiter.js'

/** How many of `n` requests of `key` from `ip` are taken. */
function take (limiter: FairLimiter, ip: string, key: string, n: number): number {
  let ok = 0
  for (let i = 0; i < n; i++) {
    try {
      limiter.consume(ip, key)
      ok++
    } catch {}
  }
  return ok
}

describe('fair per-IP limiter', () => {
  // 1 request a second: nothing refills within a test
  const limiter = (): FairLimiter => new FairLimiter(1, 40)

  it('one key gets at most its share (a quarter of the IP\'s burst)', () => {
    const l = limiter()
    assert.equal(take(l, '10.0.0.1', 'a', 100), 10)
  })

  it('an IP over budget refuses its busy keys but not a quiet one; a crowd of fresh keys adds one burst at most', () => {
    const l = limiter()
    for (const key of ['a', 'b', 'c', 'd']) assert.equal(take(l, '10.0.0.1', key, 10), 10)
    // the IP's 40 are spent: a busy key is refused, a quiet key gets in
    assert.equal(take(l, '10.0.0.1', 'a', 1), 0)
    assert.ok(take(l, '10.0.0.1', 'quiet', 1) === 1, 'a quiet key of the busy IP')
    // fresh keys: each may take while quiet (half its share), until the IP owes one burst
    let fresh = 0
    for (let k = 0; k < 100; k++) fresh += take(l, '10.0.0.1', `fresh-${k}`, 10)
    assert.ok(fresh <= 40, `${fresh} requests of fresh keys`)
    assert.ok(fresh >= 30)
    // another IP is untouched
    assert.equal(take(l, '10.0.0.2', 'x', 10), 10)
  })
})
