import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isSafeRelativePath, safeFileName, baseName } from '../../src/protocols/paths.js'
import { MAX_PATH_LENGTH, MAX_NAME_LENGTH } from '../../src/protocols/constants.js'

describe('paths', () => {
  it('accepts relative /-separated paths, dot files included', () => {
    for (const p of ['a.txt', 'Photos/Holiday 2025/beach.jpg', '.hidden', 'dir/.config', 'été/ünï.txt', 'a..b', '...x']) {
      assert.equal(isSafeRelativePath(p), true, p)
    }
  })

  it('refuses absolute, parent, empty-segment, backslash and NUL paths and oversized ones', () => {
    for (const p of ['', '/etc/passwd', '../x', 'a/../../b', 'a/..', '..', '.', './a', 'a/./b', 'a//b', 'a/', 'a\\b', '..\\x', 'a\0b',
      'x'.repeat(MAX_PATH_LENGTH + 1), 'd/' + 'n'.repeat(MAX_NAME_LENGTH + 1)]) {
      assert.equal(isSafeRelativePath(p), false, JSON.stringify(p))
    }
  })

  it('reduces any name to one safe file name', () => {
    assert.equal(safeFileName('../../etc/passwd'), 'passwd')
    assert.equal(safeFileName('/abs/path/x.bin'), 'x.bin')
    assert.equal(safeFileName('C:\\Users\\me\\doc.txt'), 'doc.txt')
    assert.equal(safeFileName('..'), 'download')
    assert.equal(safeFileName('...'), 'download')
    assert.equal(safeFileName('/'), 'download')
    assert.equal(safeFileName(''), 'download')
    assert.equal(safeFileName('.bashrc'), 'bashrc')
    assert.equal(safeFileName('a\0b\nc'), 'a_b_c')
    assert.equal(safeFileName('dir/'), 'dir')
    const long = safeFileName('y'.repeat(1000))
    assert.equal(long.length, MAX_NAME_LENGTH)
    for (const evil of ['../x', '/x', '\\x', 'a/../../b', '\0', '.', '..\\..\\y']) {
      const name = safeFileName(evil)
      assert.ok(name.length > 0 && !name.includes('/') && !name.includes('\\') && !name.includes('\0') && !name.startsWith('.'), `${evil} → ${name}`)
    }
  })

  it('baseName', () => {
    assert.equal(baseName('a/b/c.txt'), 'c.txt')
    assert.equal(baseName('c.txt'), 'c.txt')
  })
})
