import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { RateEstimator, DownloadRateLimit, maxDepthFor, swarmDepth } from '../../src/peer/download/rate.js'
import { DEFAULT_REQUESTS_IN_FLIGHT, INITIAL_REQUESTS_IN_FLIGHT, MIN_REQUESTS_IN_FLIGHT, RATE_WINDOW_MS } from '../../src/peer/download/tuning.js'

const MiB = 1024 * 1024

describe('rate estimator', () => {
  it('starts at the initial depth, at most the configured bound', () => {
    assert.equal(maxDepthFor(), DEFAULT_REQUESTS_IN_FLIGHT)
    assert.equal(maxDepthFor(1), MIN_REQUESTS_IN_FLIGHT)
    assert.equal(new RateEstimator(0, 16, MiB).depth, INITIAL_REQUESTS_IN_FLIGHT)
    assert.equal(new RateEstimator(0, 1, MiB).depth, 1, 'never above the bound')
  })

  it('measures over the window and follows the speed with the depth', () => {
    const r = new RateEstimator(0, 16, MiB)
    // 100 MiB/s for 2 s: ≈ 50 MiB of work in 0.5 s → the bound
    for (let t = 10; t <= 2_000; t += 10) r.record(t, MiB)
    assert.ok(Math.abs(r.rate - 100 * MiB) < 2 * MiB, String(r.rate))
    assert.equal(r.depth, 16)
    // then 2 MiB/s: the fast samples leave the window (both of its ends count), the depth falls
    for (let t = 2_500; t <= 2_000 + 2 * RATE_WINDOW_MS; t += 500) r.record(t, MiB)
    assert.equal(r.rate, 5 * MiB / 2, '5 completions in the 2 s window')
    assert.equal(r.depth, 3, '1.25 MiB of work in 0.5 s, plus one')
    assert.equal(r.lastDone, 2_000 + 2 * RATE_WINDOW_MS)
  })

  it('keeps the depth within its bounds whatever the completions (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.tuple(fc.nat(3_000), fc.integer({ min: 1, max: 4 * MiB })), { maxLength: 200 }), (bound, steps) => {
      const max = maxDepthFor(bound)
      const r = new RateEstimator(0, max, MiB)
      let now = 0
      for (const [dt, bytes] of steps) {
        now += dt
        r.record(now, bytes)
        assert.ok(r.depth >= MIN_REQUESTS_IN_FLIGHT && r.depth <= max)
        assert.ok(r.rate >= 0 && Number.isFinite(r.rate))
      }
    }))
  })
})

describe('swarm depth', () => {
  it('is one request less than the rate estimator\'s depth, never below 1 (fast-check)', () => {
    assert.equal(swarmDepth(INITIAL_REQUESTS_IN_FLIGHT), INITIAL_REQUESTS_IN_FLIGHT - 1 || 1)
    assert.equal(swarmDepth(1), 1)
    assert.equal(swarmDepth(DEFAULT_REQUESTS_IN_FLIGHT), DEFAULT_REQUESTS_IN_FLIGHT - 1)
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), depth => {
      const d = swarmDepth(depth)
      assert.ok(d >= 1 && d <= depth)
      assert.equal(d, depth === 1 ? 1 : depth - 1)
    }))
  })
})

describe('download rate limit', () => {
  it('lets a request go when its turn has come, then moves the turn on by length / rate', () => {
    const limit = new DownloadRateLimit(MiB)
    assert.equal(limit.wait(1_000), 0, 'the first request goes at once')
    limit.take(1_000, MiB)
    assert.equal(limit.wait(1_000), 1_000)
    assert.equal(limit.wait(1_600), 400)
    assert.equal(limit.wait(2_000), 0)
    limit.take(2_000, MiB / 2)
    assert.equal(limit.wait(2_000), 500)
    // an idle stretch earns no burst beyond the next request
    assert.equal(limit.wait(60_000), 0)
    limit.take(60_000, MiB)
    assert.equal(limit.wait(60_000), 1_000)
  })

  it('never lets more than rate × time + one chunk be requested (fast-check)', () => {
    fc.assert(fc.property(fc.integer({ min: 1_000, max: 10 * MiB }), fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 1, max: MiB })), { maxLength: 200 }), (bps, steps) => {
      const limit = new DownloadRateLimit(bps)
      let now = 0
      let requested = 0
      for (const [dt, bytes] of steps) {
        now += dt
        if (limit.wait(now) > 0) continue
        limit.take(now, bytes)
        requested += bytes
        assert.ok(requested <= bps * now / 1000 + bytes + MiB, `${requested} by ${now} ms at ${bps}/s`)
      }
    }))
  })
})
