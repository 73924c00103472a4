import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { FetchRequest, FetchResponse, Manifest, NameMatch, NameMatches } from '../../src/protocols/fetch/pb/fetch.js'
import { SharedFile, RegisterRequest, RegisterResponse } from '../../src/protocols/register/pb/register.js'
import { LookupRequest, LookupResponse, PeerInfo, SearchHit } from '../../src/protocols/lookup/pb/lookup.js'

function roundTrip<T> (codec: { encode: (v: T) => Uint8Array, decode: (b: Uint8Array, o?: any) => T }, value: T): void {
  assert.deepEqual(codec.decode(codec.encode(value)), value)
}

const id = (): Uint8Array => new Uint8Array(randomBytes(32))

describe('protobuf codecs (protons) round-trip every message', () => {
  it('fetch protocol', () => {
    for (const kind of [FetchRequest.Kind.MANIFEST, FetchRequest.Kind.CHUNK, FetchRequest.Kind.RESOLVE]) {
      roundTrip(FetchRequest, { kind, id: id(), index: 4_000_000, name: 'Photos/été 2025.jpg' })
    }
    for (const status of [FetchResponse.Status.OK, FetchResponse.Status.NOT_FOUND, FetchResponse.Status.ERROR, FetchResponse.Status.BUSY, FetchResponse.Status.BAD_REQUEST, FetchResponse.Status.CHANGED]) {
      roundTrip(FetchResponse, { status, message: 'm', index: 7, length: 1 << 20, have: [] })
    }
    roundTrip(FetchResponse, { status: FetchResponse.Status.HAVE, message: '', index: 0, length: 0, have: [0, 7, 4_000_000] })
    roundTrip(Manifest, { size: 2 ** 40 + 3, chunkSize: 1 << 20, chunkHashes: new Uint8Array(randomBytes(64)), name: 'big.bin' })
    roundTrip(NameMatch, { id: id(), path: 'a/b.txt', size: 2 ** 33 })
    roundTrip(NameMatches, { matches: [{ id: id(), path: 'a/b.txt', size: 1 }, { id: id(), path: 'b.txt', size: 0 }] })
    roundTrip(NameMatches, { matches: [] })
  })

  it('register protocol', () => {
    roundTrip(SharedFile, { id: id(), path: 'x/y', size: 12345678901 })
    for (const op of [RegisterRequest.Op.ADD, RegisterRequest.Op.RESET, RegisterRequest.Op.REMOVE]) {
      roundTrip(RegisterRequest, { op, files: [{ id: id(), path: 'a', size: 1 }], paths: ['a', 'b/c'] })
    }
    for (const status of [RegisterResponse.Status.OK, RegisterResponse.Status.ERROR, RegisterResponse.Status.RATE_LIMITED, RegisterResponse.Status.QUOTA_EXCEEDED, RegisterResponse.Status.BAD_REQUEST]) {
      roundTrip(RegisterResponse, { status, message: 'why', files: 100_000 })
    }
  })

  it('lookup protocol', () => {
    for (const kind of [LookupRequest.Kind.PROVIDERS, LookupRequest.Kind.SEARCH, LookupRequest.Kind.PEER, LookupRequest.Kind.NAME]) {
      roundTrip(LookupRequest, { kind, id: id(), query: 'holiday photos', peer: id(), limit: 50, exclude: [id(), id()] })
    }
    const info = { peer: id(), addrs: [new Uint8Array([4, 127, 0, 0, 1]), new Uint8Array([1, 2, 3])] }
    roundTrip(PeerInfo, info)
    const hit = { id: id(), name: 'b.txt', path: 'a/b.txt', size: 2 ** 35, providers: 3 }
    roundTrip(SearchHit, hit)
    for (const status of [LookupResponse.Status.OK, LookupResponse.Status.NOT_FOUND, LookupResponse.Status.ERROR, LookupResponse.Status.RATE_LIMITED, LookupResponse.Status.BAD_REQUEST]) {
      roundTrip(LookupResponse, { status, message: '', providers: [info, info], hits: [hit], peer: info })
    }
    // an absent optional message stays absent
    assert.equal(LookupResponse.decode(LookupResponse.encode({ status: LookupResponse.Status.OK, message: "", providers: [], hits: [] })).peer, undefined)
  })
})

describe('decode limits reject oversized repeated fields', () => {
  it('NameMatches beyond the limit', () => {
    const bytes = NameMatches.encode({ matches: [1, 2, 3].map(n => ({ id: id(), path: `f${n}`, size: n })) })
    assert.equal(NameMatches.decode(bytes, { limits: { matches: 3 } }).matches.length, 3)
    assert.throws(() => NameMatches.decode(bytes, { limits: { matches: 2 } }), /matches|length|limit/i)
  })

  it('RegisterRequest files and paths beyond the limit', () => {
    const files = Array.from({ length: 5 }, (_, i) => ({ id: id(), path: `p${i}`, size: i }))
    const bytes = RegisterRequest.encode({ op: RegisterRequest.Op.ADD, files, paths: ['a', 'b', 'c'] })
    assert.throws(() => RegisterRequest.decode(bytes, { limits: { files: 4, paths: 10 } }))
    assert.throws(() => RegisterRequest.decode(bytes, { limits: { files: 10, paths: 2 } }))
    assert.equal(RegisterRequest.decode(bytes, { limits: { files: 5, paths: 3 } }).files.length, 5)
  })

  it('LookupResponse providers, their addresses and hits beyond the limit', () => {
    const info = { peer: id(), addrs: [1, 2, 3].map(n => new Uint8Array([n])) }
    const hit = { id: id(), name: 'n', path: 'n', size: 1, providers: 1 }
    const bytes = LookupResponse.encode({ status: LookupResponse.Status.OK, message: "", providers: [info, info], hits: [hit, hit, hit], peer: info })
    assert.throws(() => LookupResponse.decode(bytes, { limits: { providers: 1 } }))
    assert.throws(() => LookupResponse.decode(bytes, { limits: { hits: 2 } }))
    assert.throws(() => LookupResponse.decode(bytes, { limits: { providers$: { addrs: 2 } } }))
    assert.throws(() => LookupResponse.decode(bytes, { limits: { peer: { addrs: 2 } } }))
    const ok = LookupResponse.decode(bytes, { limits: { providers: 2, hits: 3, providers$: { addrs: 3 }, peer: { addrs: 3 } } })
    assert.equal(ok.hits.length, 3)
  })

  it('garbage does not decode into a message silently', () => {
    assert.throws(() => FetchRequest.decode(new Uint8Array([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f])))
  })
})
