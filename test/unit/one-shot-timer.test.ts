import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { OneShotTimer } from '../../src/util/one-shot-timer.js'

describe('OneShotTimer', () => {
  it('re-arming replaces the pending call; it fires once, then is idle', async () => {
    let fired = 0
    const timer = new OneShotTimer(() => { fired++ })
    timer.start(200)
    timer.start(10)
    assert.equal(timer.pending, true)
    await sleep(60)
    assert.equal(fired, 1)
    assert.equal(timer.pending, false)
    await sleep(200)
    assert.equal(fired, 1, 'the first arming was replaced, not added')
  })

  it('cancel disarms it', async () => {
    let fired = 0
    const timer = new OneShotTimer(() => { fired++ })
    timer.start(10)
    timer.cancel()
    assert.equal(timer.pending, false)
    await sleep(40)
    assert.equal(fired, 0)
  })
})
