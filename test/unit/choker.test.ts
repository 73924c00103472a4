/**
 * Fair upload (src/protocols/fetch/choker.ts), alone: the Choker is UploadSlots whose
 * per-PeerId and per-IP limits apply first; free slots go to anyone; at capacity peers
 * that upload to us take the slot of those that give least (the old slot is choked: no
 * longer counted); one optimistic slot rotates to a newcomer with nothing after
 * OPTIMISTIC_SLOT_MS. UploadCredit decays by half every CREDIT_HALF_LIFE_MS.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Choker, UploadCredit, OPTIMISTIC_SLOT_MS, CREDIT_HALF_LIFE_MS } from '../../src/protocols/fetch/choker.js'
import { UploadSlot } from '../../src/protocols/fetch/upload-slots.js'

const roomy = (total: number): { total: number, perPeer: number, perIp: number } => ({ total, perPeer: 2, perIp: 100 })

function slot (got: UploadSlot | string): UploadSlot {
  assert.ok(got instanceof UploadSlot, `refused: ${String(got)}`)
  return got
}

describe('fair upload (tit-for-tat on the upload slots)', () => {
  it('serves anyone while a slot is free, then refuses peers that give nothing', () => {
    const s = new Choker(roomy(2), () => 0)
    slot(s.acquire('a', '10.0.0.1', 0))
    slot(s.acquire('b', '10.0.0.2', 0))
    assert.equal(s.acquire('c', '10.0.0.3', 1_000), 'total')
  })

  it('a peer that uploads to us takes the slot of the one that gives least', () => {
    const credit: Record<string, number> = { a: 5, b: 1, c: 3 }
    const s = new Choker(roomy(2), p => credit[p] ?? 0)
    const a = slot(s.acquire('a', null, 0))
    const b = slot(s.acquire('b', null, 0))
    slot(s.acquire('c', null, 10))
    assert.equal(b.choked, true, 'b gave least')
    assert.equal(b.held, false, 'a choked slot is no longer counted')
    assert.equal(a.choked, false)
    assert.equal(s.active, 2)
    assert.deepEqual(s.holders().map(h => h.peer).sort(), ['a', 'c'])
    assert.equal(s.acquire('d', null, 20), 'total', 'd gives nothing: no slot')
    assert.equal(s.acquire('b', null, 20), 'total', 'b gives less than every holder')
  })

  it('the per-PeerId and per-IP limits apply before the choker', () => {
    const s = new Choker({ total: 2, perPeer: 1, perIp: 1 }, p => p === 'rich' ? 100 : 0)
    slot(s.acquire('rich', '10.0.0.1', 0))
    slot(s.acquire('poor', '10.0.0.2', 0))
    assert.equal(s.acquire('rich', '10.0.0.3', 10), 'peer')
    assert.equal(s.acquire('rich2', '10.0.0.2', 10), 'ip')
  })

  it('the optimistic slot rotates to a newcomer with nothing after OPTIMISTIC_SLOT_MS', () => {
    const s = new Choker(roomy(2), p => p === 'giver' ? 10 : 0)
    slot(s.acquire('giver', null, 0))
    const old = slot(s.acquire('old', null, 0))
    assert.equal(s.acquire('new', null, OPTIMISTIC_SLOT_MS - 1), 'total', 'not before its time')
    const fresh = slot(s.acquire('new', null, OPTIMISTIC_SLOT_MS))
    assert.ok(fresh.optimistic)
    assert.equal(old.choked, true)
    assert.equal(s.acquire('newer', null, OPTIMISTIC_SLOT_MS + 1), 'total', 'the new optimistic holder keeps it for a while')
    assert.ok(slot(s.acquire('newer', null, 2 * OPTIMISTIC_SLOT_MS)).optimistic)
    assert.equal(fresh.choked, true)
  })

  it('the rotation time is configurable', () => {
    const s = new Choker(roomy(1), () => 0, 100)
    slot(s.acquire('a', null, 0))
    assert.equal(s.acquire('b', null, 99), 'total')
    slot(s.acquire('b', null, 100))
  })

  it('credit decays by half every CREDIT_HALF_LIFE_MS', () => {
    const c = new UploadCredit()
    c.earn('a', 1000, 0)
    assert.equal(c.of('a', 0), 1000)
    assert.equal(c.of('a', CREDIT_HALF_LIFE_MS), 500)
    c.earn('a', 500, CREDIT_HALF_LIFE_MS)
    assert.equal(c.of('a', CREDIT_HALF_LIFE_MS), 1000)
    assert.equal(c.of('nobody', 0), 0)
  })

  it('never more slots than the total, one optimistic at most; choked slots are not counted', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.tuple(fc.nat(9), fc.boolean(), fc.nat(40_000)), { maxLength: 200 }), (max, ops) => {
      const credit = new Map<string, number>()
      const s = new Choker({ total: max, perPeer: 2, perIp: 3 }, p => credit.get(p) ?? 0)
      const open: UploadSlot[] = []
      let now = 0
      for (const [who, release, dt] of ops) {
        now += dt
        const peer = `p${who}`
        if (release && open.length > 0) {
          open.shift()!.release()
        } else {
          credit.set(peer, who % 3 === 0 ? 0 : who)
          const got = s.acquire(peer, `10.0.0.${who % 4}`, now)
          if (got instanceof UploadSlot) open.push(got)
        }
        for (let i = open.length - 1; i >= 0; i--) if (open[i].choked) open.splice(i, 1)
        assert.equal(s.active, open.length)
        assert.ok(open.length <= max, `${open.length} slots of ${max}`)
        assert.ok(open.filter(o => o.optimistic).length <= 1, 'one optimistic slot at most')
        for (const o of open) assert.ok(s.heldBy(o.peer) <= 2)
      }
    }))
  })
})
