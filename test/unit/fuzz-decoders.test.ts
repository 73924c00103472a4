/**
 * Property-based fuzzing (fast-check) of everything that parses bytes or text from the
 * network: the protons decoders (with their repeated-field limits), readFrameLength, the
 * FTS query builder (run against a real SQLite index), the relative-path check, and the
 * master's register handler fed arbitrary decoded requests.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { resolve, sep } from 'node:path'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { RegisterRequest, RegisterResponse, SharedFile } from '../../src/protocols/register/pb/register.js'
import { LookupRequest, LookupResponse } from '../../src/protocols/lookup/pb/lookup.js'
import { FetchRequest, FetchResponse, Manifest, NameMatches, FileList } from '../../src/protocols/fetch/pb/fetch.js'
import { encodeFrame, readFrameLength } from '../../src/protocols/frames.js'
import { isSafeRelativePath, safeFileName } from '../../src/protocols/paths.js'
import { IndexStore, ftsQuery } from '../../src/master/index-store.js'
import { defaultLogger } from '@libp2p/logger'
import { RegisterServer } from '../../src/protocols/register/server.js'
import { peerRateLimiter } from '../../src/master/rate-limiter.js'

const RUNS = 400

const decoders: Array<[string, { decode: (b: Uint8Array, opts?: any) => unknown }, Record<string, number> | undefined]> = [
  ['RegisterRequest', RegisterRequest, { files: 5, paths: 5 }],
  ['RegisterResponse', RegisterResponse, undefined],
  ['SharedFile', SharedFile, undefined],
  ['LookupRequest', LookupRequest, undefined],
  ['LookupResponse', LookupResponse, { providers: 5, hits: 5 }],
  ['FetchRequest', FetchRequest, undefined],
  ['FetchResponse', FetchResponse, undefined],
  ['Manifest', Manifest, undefined],
  ['NameMatches', NameMatches, { matches: 5 }],
  ['FileList', FileList, { files: 5 }]
]

describe('fuzzing the decoders (fast-check)', () => {
  for (const [name, codec, limits] of decoders) {
    it(`${name}.decode: arbitrary bytes decode or throw an Error, never anything else`, () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), bytes => {
        try {
          const value: any = codec.decode(bytes, limits != null ? { limits } : undefined)
          assert.equal(typeof value, 'object')
          for (const [field, max] of Object.entries(limits ?? {})) {
            assert.ok((value[field]?.length ?? 0) <= max, `${field} over its limit`)
          }
        } catch (err) {
          assert.ok(err instanceof Error, `threw a non-Error: ${String(err)}`)
        }
      }), { numRuns: RUNS })
    })
  }

  it('RegisterRequest round-trips, and repeated fields beyond the limit are refused', () => {
    const file = fc.record({ id: fc.uint8Array({ minLength: 32, maxLength: 32 }), path: fc.string({ maxLength: 40 }), size: fc.nat() })
    fc.assert(fc.property(fc.constantFrom(RegisterRequest.Op.ADD, RegisterRequest.Op.RESET, RegisterRequest.Op.REMOVE), fc.array(file, { maxLength: 8 }), fc.array(fc.string(), { maxLength: 8 }), (op, files, paths) => {
      const bytes = RegisterRequest.encode({ op, files, paths })
      const back = RegisterRequest.decode(bytes)
      assert.deepEqual(back.files.map(f => ({ ...f, id: [...f.id] })), files.map(f => ({ ...f, id: [...f.id] })))
      assert.deepEqual(back.paths, paths)
      if (files.length > 3) assert.throws(() => RegisterRequest.decode(bytes, { limits: { files: 3 } }))
    }), { numRuns: 200 })
  })

  it('readFrameLength: null, a length within the limit, or a RangeError; encodeFrame round-trips', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 1 << 24 }), (bytes, max) => {
      try {
        const r = readFrameLength(new Uint8ArrayList(bytes), max)
        if (r != null) {
          assert.ok(r.length <= max)
          assert.ok(r.prefixBytes >= 1 && r.prefixBytes <= 5 && r.prefixBytes <= bytes.length)
        }
      } catch (err) {
        assert.ok(err instanceof RangeError)
      }
    }), { numRuns: 2000 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 8 }), (message, split) => {
      const frame = encodeFrame(message)
      const r = readFrameLength(new Uint8ArrayList(frame), 1 << 20)!
      assert.equal(r.length, message.length)
      assert.deepEqual(frame.subarray(r.prefixBytes), message)
      // any strict prefix of the length prefix asks for more bytes
      if (split < r.prefixBytes) assert.equal(readFrameLength(new Uint8ArrayList(frame.subarray(0, split)), 1 << 20), null)
      // a limit below the length is refused before anything is allocated
      if (message.length > 0) assert.throws(() => readFrameLength(new Uint8ArrayList(frame), message.length - 1), RangeError)
    }), { numRuns: 500 })
  })

  it('ftsQuery lets no FTS syntax through, and every query runs against a real index', () => {
    const index = new IndexStore(null)
    index.addFiles('peer', [{ id: new Uint8Array(32), path: 'Photos/Holiday 2025/beach.jpg', size: 1 }], true)
    index.setLive('peer', true)
    const nasty = fc.constantFrom('"', '*', '(', ')', 'NEAR', 'OR', 'AND', 'NOT', ':', '^', '-', '+', '{', '}', "'", 'path:', 'é', '🙂', '\0', ' ')
    const query = fc.oneof(fc.string({ maxLength: 100 }), fc.string({ maxLength: 60, unit: 'binary' }), fc.array(nasty, { maxLength: 20 }).map(a => a.join('')))
    fc.assert(fc.property(query, q => {
      const match = ftsQuery(q)
      if (match != null) assert.match(match, /^"[\p{L}\p{N}]+"\*( AND "[\p{L}\p{N}]+"\*)*$/u)
      const hits = index.search(q, 10)
      assert.ok(Array.isArray(hits) && hits.length <= 1)
    }), { numRuns: 1000 })
    assert.equal(index.search('HOLI bea', 10).length, 1)
    index.close()
  })

  it('a path accepted by isSafeRelativePath never leaves the folder it is joined to; file names are always safe', () => {
    const root = resolve('/srv/share')
    const seg = fc.constantFrom('a', 'b.txt', '.', '..', '', '...', '.hidden', 'c\\d', 'e\0', '~', ' ')
    fc.assert(fc.property(fc.array(seg, { maxLength: 6 }).map(s => s.join('/')), fc.boolean(), (path, lead) => {
      const p = lead ? '/' + path : path
      if (isSafeRelativePath(p)) {
        const abs = resolve(root, p)
        assert.ok(abs.startsWith(root + sep), `${p} escapes to ${abs}`)
        assert.ok(!p.split('/').includes('..'))
      }
      const name = safeFileName(p)
      assert.ok(name.length > 0 && !name.includes('/') && !name.includes('\\') && !name.startsWith('.'))
    }), { numRuns: 2000 })
  })

  it('the register handler answers any decoded request with a status, and binds records to the caller', () => {
    const index = new IndexStore(null)
    const service = new RegisterServer({ registrar: null as any, logger: defaultLogger() }, { store: index, maxFilesPerPeer: 20, limiter: peerRateLimiter(1_000_000, 1_000_000) })
    const segment = fc.constantFrom('a', 'b.txt', '.', '..', '', 'c\\d', 'x\0', 'ü')
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map(s => s.join('/'))
    const file = fc.record({ id: fc.uint8Array({ minLength: 30, maxLength: 33 }), path, size: fc.oneof(fc.nat(), fc.constant(-1), fc.constant(2 ** 52)) })
    const structured = fc.record({
      op: fc.constantFrom(RegisterRequest.Op.ADD, RegisterRequest.Op.RESET, RegisterRequest.Op.REMOVE),
      files: fc.array(file, { maxLength: 30 }),
      paths: fc.array(path, { maxLength: 5 })
    }).map(r => RegisterRequest.encode(r))
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), structured), bytes => {
      let request: RegisterRequest
      try { request = RegisterRequest.decode(bytes, { limits: { files: 50, paths: 50 } }) } catch { return }
      const res = service.apply('caller', request)
      assert.ok(Object.values(RegisterResponse.Status).includes(res.status))
      assert.ok(index.fileCount('caller') <= 20)
      assert.equal(index.fileCount('someone-else'), 0)
      if (res.status === RegisterResponse.Status.OK) {
        assert.ok(request.files.every(f => f.id.length === 32 && isSafeRelativePath(f.path)), 'only well-formed records are accepted')
      }
    }), { numRuns: RUNS })
    index.close()
  })
})
