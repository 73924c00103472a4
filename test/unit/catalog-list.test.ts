import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Catalog } from '../../src/peer/catalog.js'

const manifest = (size: number): any => ({ size, chunkSize: 1024 * 1024, chunkHashes: new Uint8Array(32) })
const source = (abs: string): any => ({ open: abs, identity: { dev: 1, ino: 1, size: 0, mtimeMs: 0 } })
const id = (n: number): Uint8Array => new Uint8Array(34).fill(n)

describe('catalog LIST pages', () => {
  const path = (i: number): string => `f${String(i).padStart(3, '0')}`

  it('pages in path order by position, total counted, a change seen by the next page', () => {
    const c = new Catalog()
    // added in reverse: the pages are in path order all the same
    for (let i = 249; i >= 0; i--) c.add(path(i), `/abs/${path(i)}`, id(i % 200), manifest(i), source(`/abs/${path(i)}`))
    const first = c.list(0, 100)
    assert.equal(first.total, 250)
    assert.deepEqual(first.files.map(f => f.path), Array.from({ length: 100 }, (_, i) => path(i)))
    assert.deepEqual(c.list(200, 100).files.map(f => f.size), Array.from({ length: 50 }, (_, i) => 200 + i))
    assert.deepEqual(c.list(250, 100).files, [])
    assert.deepEqual(c.list(10_000_000, 100).files, [])
    c.remove(path(0))
    c.add('new', '/abs/new', id(7), manifest(1), source('/abs/new'))
    const after = c.list(0, 1000)
    assert.equal(after.total, 250)
    assert.equal(after.files[0].path, path(1))
    assert.equal(after.files.at(-1)!.path, 'new')
  })

  it('pages after a path cursor: files removed or added before it shift nothing, none repeated or missed', () => {
    const c = new Catalog()
    for (let i = 0; i < 250; i++) c.add(path(i), `/abs/${path(i)}`, id(i % 200), manifest(i), source(`/abs/${path(i)}`))
    const first = c.list(0, 100)
    // between pages: files before the cursor go and come; the next page starts right after it
    for (let i = 0; i < 10; i++) c.remove(path(i))
    c.add('a-first', '/abs/a-first', id(3), manifest(1), source('/abs/a-first'))
    const second = c.list(100, 100, first.files.at(-1)!.path)
    assert.deepEqual(second.files.map(f => f.path), Array.from({ length: 100 }, (_, i) => path(100 + i)), 'by position this page would have skipped 9 files')
    // a cursor that is not a shared path (removed meanwhile) still starts after it
    c.remove(path(199))
    const third = c.list(200, 100, path(199))
    assert.deepEqual(third.files.map(f => f.path), Array.from({ length: 50 }, (_, i) => path(200 + i)))
    assert.deepEqual(c.list(0, 100, 'zzz').files, [], 'after the last path: nothing')
  })
})
