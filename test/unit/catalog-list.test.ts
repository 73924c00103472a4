import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Catalog } from '../../src/peer/catalog.js'

const manifest = (size: number): any => ({ size, chunkSize: 1024 * 1024, chunkHashes: new Uint8Array(32) })
const source = (abs: string): any => ({ open: abs, identity: { dev: 1, ino: 1, size: 0, mtimeMs: 0 } })
const id = (n: number): Uint8Array => new Uint8Array(34).fill(n)

describe('catalog LIST pages', () => {
  it('pages in insertion order, total counted, a change seen by the next page', () => {
    const c = new Catalog()
    for (let i = 0; i < 250; i++) c.add(`f${i}`, `/abs/f${i}`, id(i % 200), manifest(i), source(`/abs/f${i}`))
    const first = c.list(0, 100)
    assert.equal(first.total, 250)
    assert.deepEqual(first.files.map(f => f.path), Array.from({ length: 100 }, (_, i) => `f${i}`))
    assert.deepEqual(c.list(200, 100).files.map(f => f.size), Array.from({ length: 50 }, (_, i) => 200 + i))
    assert.deepEqual(c.list(250, 100).files, [])
    assert.deepEqual(c.list(10_000_000, 100).files, [])
    c.remove('f0')
    c.add('new', '/abs/new', id(7), manifest(1), source('/abs/new'))
    const after = c.list(0, 1000)
    assert.equal(after.total, 250)
    assert.equal(after.files[0].path, 'f1')
    assert.equal(after.files.at(-1)!.path, 'new')
  })
})
