/**
 * UploadSlots: total, per-PeerId and per-IP limits; release is idempotent; IPv6 counts per
 * /64 and relayed connections have no IP key.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { UploadSlots, UploadSlot, ipKey, ipv6Prefix64 } from '../../src/protocols/fetch/upload-slots.js'

describe('UploadSlots', () => {
  it('enforces per-peer, per-IP and total limits, and gives slots back once', () => {
    const slots = new UploadSlots({ total: 5, perPeer: 2, perIp: 3 })
    const a1 = slots.acquire('a', '10.0.0.1')
    const a2 = slots.acquire('a', '10.0.0.1')
    assert.ok(a1 instanceof UploadSlot && a2 instanceof UploadSlot)
    assert.equal(slots.acquire('a', '10.0.0.2'), 'peer')
    const b1 = slots.acquire('b', '10.0.0.1')
    assert.ok(b1 instanceof UploadSlot)
    assert.equal(slots.acquire('c', '10.0.0.1'), 'ip')
    assert.ok(slots.acquire('c', null) instanceof UploadSlot, 'relayed: no IP limit')
    assert.ok(slots.acquire('d', '10.0.0.9') instanceof UploadSlot)
    assert.equal(slots.acquire('e', '10.0.0.8'), 'total')
    assert.equal(slots.active, 5)
    a1.release()
    a1.release()
    assert.equal(slots.active, 4)
    assert.equal(slots.heldBy('a'), 1)
    assert.equal(slots.heldFrom('10.0.0.1'), 2)
    assert.ok(slots.acquire('c', '10.0.0.1') instanceof UploadSlot)
  })

  it('keys connections by IPv4, IPv6 /64, none when relayed', () => {
    assert.equal(ipKey({ remoteAddr: multiaddr('/ip4/192.0.2.7/tcp/4001') }), '192.0.2.7')
    assert.equal(ipKey({ remoteAddr: multiaddr('/ip6/2001:db8:1:2:3:4:5:6/tcp/4001') }), '2001:db8:1:2::/64')
    assert.equal(ipKey({ remoteAddr: multiaddr('/ip6/2001:db8:1:2::99/tcp/4001') }), '2001:db8:1:2::/64')
    assert.equal(ipKey({ remoteAddr: multiaddr('/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit') }), null)
    assert.equal(ipv6Prefix64('::1'), '0:0:0:0::/64')
    assert.equal(ipv6Prefix64('2001:DB8::'), '2001:db8:0:0::/64')
    assert.equal(ipv6Prefix64('::ffff:192.0.2.5'), '192.0.2.5')
  })
})
