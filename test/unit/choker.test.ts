/**
 * Upload slots with tit-for-tat (src/protocols/fetch/choker.ts), alone: free slots for
 * anyone, at capacity peers that upload to us take the slot of those that give least, one
 * optimistic slot rotates to a newcomer with nothing after OPTIMISTIC_SLOT_MS.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Choker, OPTIMISTIC_SLOT_MS, type ChokerSlot } from '../../src/protocols/fetch/choker.js'

describe('upload slots (tit-for-tat)', () => {
  it('serves anyone while a slot is free, then refuses peers that give nothing', () => {
    const s = new Choker(2, () => 0)
    assert.ok(s.admit('a', 0) != null)
    assert.ok(s.admit('b', 0) != null)
    assert.equal(s.admit('c', 1_000), null)
  })

  it('a peer that uploads to us takes the slot of the one that gives least', () => {
    const credit: Record<string, number> = { a: 5, b: 1, c: 3 }
    const s = new Choker(2, p => credit[p] ?? 0)
    const a = s.admit('a', 0)!
    const b = s.admit('b', 0)!
    const c = s.admit('c', 10)
    assert.ok(c != null)
    assert.equal(b.choked, true, 'b gave least')
    assert.equal(a.choked, false)
    assert.equal(s.admit('d', 20), null, 'd gives nothing: no slot')
    assert.equal(s.admit('e', 20), null)
  })

  it('the optimistic slot rotates to a newcomer with nothing after OPTIMISTIC_SLOT_MS', () => {
    const s = new Choker(2, p => p === 'giver' ? 10 : 0)
    s.admit('giver', 0)
    const old = s.admit('old', 0)!
    assert.equal(s.admit('new', OPTIMISTIC_SLOT_MS - 1), null, 'not before its time')
    const fresh = s.admit('new', OPTIMISTIC_SLOT_MS)!
    assert.ok(fresh.optimistic)
    assert.equal(old.choked, true)
    assert.equal(s.admit('newer', OPTIMISTIC_SLOT_MS + 1), null, 'the new optimistic holder keeps it for a while')
    assert.ok(s.admit('newer', 2 * OPTIMISTIC_SLOT_MS) != null)
  })

  it('never more open slots than maxUploads; a choked slot is not counted twice', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.tuple(fc.nat(9), fc.boolean(), fc.nat(40_000)), { maxLength: 200 }), (max, ops) => {
      const credit = new Map<string, number>()
      const s = new Choker(max, p => credit.get(p) ?? 0)
      const open: ChokerSlot[] = []
      let now = 0
      for (const [who, release, dt] of ops) {
        now += dt
        const peer = `p${who}`
        if (release && open.length > 0) {
          s.release(open.shift()!)
        } else {
          credit.set(peer, who % 3 === 0 ? 0 : who)
          const slot = s.admit(peer, now)
          if (slot != null) open.push(slot)
        }
        for (let i = open.length - 1; i >= 0; i--) if (open[i].choked) { s.release(open[i]); open.splice(i, 1) }
        assert.ok(open.length <= max, `${open.length} open slots of ${max}`)
        assert.ok(open.filter(o => o.optimistic).length <= 1, 'one optimistic slot at most')
      }
    }))
  })
})
