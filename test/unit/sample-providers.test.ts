import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { sampleProviders, ipPrefix, type RankedProvider } from '../../src/protocols/lookup/sample.js'

const p = (peer: string, tier: number, prefix: string, ageMs = 0): RankedProvider => ({ peer, tier, prefix, ageMs })

describe('lookup sampling (sample.ts)', () => {
  it('better tiers first, whatever their number', () => {
    const list = [...Array.from({ length: 200 }, (_, i) => p(`sybil-${i}`, 2, '127.0.0.0/24')), p('honest', 1, '127.0.0.0/24')]
    assert.equal(sampleProviders(list, 20)[0].peer, 'honest')
  })

  it('spreads over prefixes: one subnet with many keys gets one slot per round', () => {
    const list = [...Array.from({ length: 100 }, (_, i) => p(`crowd-${i}`, 1, '10.0.0.0/24')), p('a', 1, '192.0.2.0/24'), p('b', 1, '198.51.100.0/24')]
    const peers = sampleProviders(list, 3).map(r => r.peer).sort()
    assert.deepEqual(peers.filter(x => !x.startsWith('crowd')), ['a', 'b'])
  })

  it('never more than the limit, never duplicates, only given providers', () => {
    fc.assert(fc.property(fc.array(fc.record({ peer: fc.string({ minLength: 1, maxLength: 4 }), tier: fc.integer({ min: 0, max: 3 }), prefix: fc.constantFrom('', 'x', 'y'), ageMs: fc.nat() }), { maxLength: 60 }), fc.integer({ min: 0, max: 30 }), (raw, limit) => {
      const list: RankedProvider[] = [...new Map(raw.map(r => [r.peer, r as RankedProvider])).values()]
      const out = sampleProviders(list, limit)
      assert.ok(out.length === Math.min(limit, list.length))
      assert.equal(new Set(out.map(r => r.peer)).size, out.length)
      for (const r of out) assert.ok(list.includes(r))
      // tiers never go backwards
      for (let i = 1; i < out.length; i++) assert.ok(out[i].tier >= out[i - 1].tier)
    }))
  })

  it('prefixes: /24 for IPv4, /48 for IPv6', () => {
    assert.equal(ipPrefix('203.0.113.77'), '203.0.113.0/24')
    assert.equal(ipPrefix('2001:db8:1:2::5'), '2001:db8:1::/48')
  })
})
