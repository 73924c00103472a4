/**
 * The master's index lane (src/master/index-lane.ts): fair queues over IPs then keys, budgets
 * in ms of measured work that refuse early, a quiet key of a busy IP still admitted.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { IndexLane, type IndexLaneOptions } from '../../src/master/index-lane.js'

const options: IndexLaneOptions = {
  msPerIpPerSecond: 40,
  burstMsPerIp: 100,
  duty: 1,
  maxQueuedPerKey: 2,
  maxQueuedPerIp: 64,
  maxQueued: 1024,
  maxWaitMs: 60_000
}

/**
 * A step that keeps the CPU for at least `ms`, in wall time and in CPU time (the lane charges
 * the lesser: a loaded host stretches wall time, other threads add CPU time).
 */
function busy (ms: number, out?: string[], tag?: string): () => string {
  return () => {
    const start = process.cpuUsage()
    const end = performance.now() + ms
    const used = (): number => { const u = process.cpuUsage(start); return (u.user + u.system) / 1000 }
    while (performance.now() < end || used() < ms) {}
    if (out != null && tag != null) out.push(tag)
    return tag ?? ''
  }
}

describe('index lane', () => {
  it('runs the steps of a request in order and takes turns over IPs, then over the keys of an IP', async () => {
    const lane = new IndexLane(options)
    const order: string[] = []
    const jobs = [
      lane.run('10.0.0.1', 'a1', [busy(0, order, 'a1.1'), busy(0, order, 'a1.2'), busy(0, order, 'a1.3')]),
      lane.run('10.0.0.1', 'a2', [busy(0, order, 'a2.1')]),
      lane.run('10.0.0.2', 'b1', [busy(0, order, 'b1.1')])
    ]
    assert.deepEqual(await jobs[0], ['a1.1', 'a1.2', 'a1.3'])
    await Promise.all(jobs)
    // the flood of IP 1 (3 slices of a1) does not hold back IP 2, nor key a2 behind a1
    assert.deepEqual(order, ['a1.1', 'b1.1', 'a2.1', 'a1.2', 'a1.3'])
    lane.stop()
  })

  it('a failing step rejects its request; the steps after it are skipped, other requests run', async () => {
    const lane = new IndexLane(options)
    const order: string[] = []
    const failing = lane.run('10.0.0.1', 'a', [busy(0, order, 'a.1'), () => { throw new Error('disk full') }, busy(0, order, 'a.3')])
    const other = lane.run('10.0.0.1', 'b', [busy(0, order, 'b.1')])
    await assert.rejects(failing, /disk full/)
    assert.deepEqual(await other, ['b.1'])
    assert.deepEqual(order, ['a.1', 'b.1'])
    lane.stop()
  })

  it('refuses a key over its budget before running anything; a quiet key of the same busy IP still gets in', async () => {
    const lane = new IndexLane(options)
    assert.equal(lane.admit('10.0.0.1', 'flooder'), true)
    await lane.run('10.0.0.1', 'flooder', [busy(60)])
    // 60 ms of work: over the key's burst (25 ms) and past the IP's
    assert.equal(lane.admit('10.0.0.1', 'flooder'), false, 'the flooding key is refused')
    let ran = false
    assert.equal(lane.admit('10.0.0.1', 'flooder'), false)
    assert.equal(ran, false)
    // the IP is in debt after more work by other keys
    for (const key of ['k1', 'k2']) {
      assert.equal(lane.admit('10.0.0.1', key), true)
      await lane.run('10.0.0.1', key, [busy(30)])
    }
    assert.equal(lane.admit('10.0.0.1', 'k1'), false, 'a key that was busy is refused while its IP is over budget')
    assert.equal(lane.admit('10.0.0.1', 'quiet'), true, 'a quiet key of the busy IP is admitted')
    assert.equal(lane.admit('10.0.0.2', 'other'), true, 'another IP is not affected')
    await lane.run('10.0.0.2', 'other', [() => { ran = true }])
    assert.equal(ran, true)
    assert.ok(lane.refused >= 3)
    lane.stop()
  })

  it('refuses a request that would wait longer than maxWaitMs, and a key with too many requests waiting', async () => {
    const lane = new IndexLane({ ...options, msPerIpPerSecond: 1e6, burstMsPerIp: 1e6, maxWaitMs: 500 })
    // a measured slice of 200 ms (more on a loaded host) raises the estimate to ≈ 25 ms a slice (or more)
    await lane.run('10.0.0.1', 'a', [busy(200)])
    assert.equal(lane.admit('10.0.0.3', 'x', 1), true)
    assert.equal(lane.admit('10.0.0.3', 'x', 100), false, 'a request of 100 slices would wait too long')
    const small = new IndexLane({ ...options, msPerIpPerSecond: 1e6, burstMsPerIp: 1e6 })
    const waiting = [small.run('10.0.0.1', 'k', [busy(1)]), small.run('10.0.0.1', 'k', [busy(1)])]
    assert.equal(small.admit('10.0.0.1', 'k'), false, 'two requests of the key are waiting')
    assert.equal(small.admit('10.0.0.1', 'j'), true)
    await Promise.all(waiting)
    lane.stop()
    small.stop()
  })

  it("one IP's backlog does not count against another IP's wait: its request is admitted, the flooding IP's refused", async () => {
    const lane = new IndexLane({ ...options, msPerIpPerSecond: 1e6, burstMsPerIp: 1e6, maxQueuedPerKey: 1e6, maxWaitMs: 50 })
    // 40 slices of IP A waiting (≈ 200 ms at the first estimate of 5 ms a slice): nothing runs before the next turn
    const backlog = Array.from({ length: 40 }, (_, i) => lane.run('10.0.0.1', `a${i}`, [busy(0)]))
    assert.equal(lane.admit('10.0.0.1', 'a-new'), false, 'the flooding IP waits behind its own backlog')
    assert.equal(lane.admit('10.0.0.2', 'quiet'), true, 'the quiet IP takes turns with it: one slice ahead, not 40')
    await Promise.all(backlog)
    lane.stop()
  })

  it('a full lane pushes out the newest request of the busiest IP for a quieter IP (RATE_LIMITED), not for the busiest itself', async () => {
    const lane = new IndexLane({ ...options, msPerIpPerSecond: 1e6, burstMsPerIp: 1e6, maxQueuedPerKey: 1e6, maxQueued: 4 })
    const flood = Array.from({ length: 4 }, (_, i) => lane.run('10.0.0.1', 'a', [busy(0, undefined, `a${i}`)]))
    const settled = Promise.allSettled(flood)
    assert.equal(lane.admit('10.0.0.1', 'a2'), false, 'the flooding IP cannot push out its own requests')
    assert.equal(lane.admit('10.0.0.2', 'quiet'), true, 'a quieter IP gets a place')
    const quiet = lane.run('10.0.0.2', 'quiet', [busy(0, undefined, 'q')])
    assert.equal(lane.waiting, 4)
    assert.equal(lane.admit('10.0.0.1', 'a3'), false)
    assert.deepEqual(await quiet, ['q'])
    const results = await settled
    assert.deepEqual(results.slice(0, 3).map(r => r.status), ['fulfilled', 'fulfilled', 'fulfilled'])
    assert.equal(results[3].status, 'rejected')
    assert.equal((results[3] as PromiseRejectedResult).reason.code, 'RATE_LIMITED')
    lane.stop()
  })

  it('runs no slice while held (a checkpoint of the log), and goes on once the hold settles', async () => {
    const lane = new IndexLane(options)
    let release!: () => void
    lane.hold(new Promise<void>(resolve => { release = resolve }))
    const ran: string[] = []
    assert.equal(lane.admit('10.0.0.1', 'k'), true)
    const done = lane.run('10.0.0.1', 'k', [busy(1, ran, 'a')])
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.deepEqual(ran, [], 'nothing ran while held')
    release()
    assert.deepEqual(await done, ['a'])
    // a hold that fails releases the lane too
    lane.hold(Promise.reject(new Error('checkpoint failed')))
    assert.equal(lane.admit('10.0.0.1', 'k'), true)
    assert.deepEqual(await lane.run('10.0.0.1', 'k', [busy(1, ran, 'b')]), ['b'])
    lane.stop()
  })
})

