import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Backoff, backoffDelay } from '../../src/util/backoff.js'

test('backoffDelay doubles from minMs and stops at maxMs', () => {
  const bounds = { minMs: 500, maxMs: 30_000 }
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(a => backoffDelay(a, bounds)), [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000])
  assert.equal(backoffDelay(0, bounds), 500)
})

test('Backoff counts attempts and starts over after reset()', () => {
  const b = new Backoff({ minMs: 1000, maxMs: 8000 })
  assert.equal(b.peek(), 1000)
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [1000, 2000, 4000, 8000, 8000])
  assert.equal(b.peek(), 8000)
  b.reset()
  assert.equal(b.peek(), 1000)
  assert.equal(b.next(), 1000)
})
