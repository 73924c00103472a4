/**
 * The split of the seeders' work over a swarm (swarm-share.ts): every chunk has exactly
 * one owner, shares differ by at most one chunk, and members that know the same swarm
 * compute the same split whatever order they learned of each other in.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { swarmShare } from '../../src/peer/download/swarm-share.js'

const members = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 20 })

describe('swarm share', () => {
  it('every chunk belongs to exactly one member, and shares differ by at most one chunk', () => {
    fc.assert(fc.property(members, fc.integer({ min: 0, max: 300 }), (peers, total) => {
      const owners = new Array<number>(total).fill(0)
      const sizes: number[] = []
      for (const self of peers) {
        const mine = swarmShare(self, peers.filter(p => p !== self), total)
        assert.equal(mine.length, total)
        let size = 0
        mine.forEach((b, c) => { owners[c] += b; size += b })
        sizes.push(size)
      }
      assert.deepEqual(owners, new Array(total).fill(1), 'one owner per chunk')
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `share sizes ${sizes.join(', ')}`)
    }))
  })

  it('the same split whatever order the members are known in (and with self listed among them)', () => {
    fc.assert(fc.property(members, fc.integer({ min: 1, max: 200 }), fc.nat(), (peers, total, seed) => {
      const self = peers[seed % peers.length]
      const others = peers.filter(p => p !== self)
      const shuffled = [...others].sort(() => 0.5 - ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32))
      assert.deepEqual(swarmShare(self, shuffled, total), swarmShare(self, others, total))
      assert.deepEqual(swarmShare(self, [...others, self], total), swarmShare(self, others, total))
    }))
  })

  it('alone, every chunk is ours', () => {
    assert.deepEqual([...swarmShare('a', [], 5)], [1, 1, 1, 1, 1])
  })
})
