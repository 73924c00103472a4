/**
 * Issue 10, item 7: long and odd names download. A shared file whose name takes 240 or 254
 * bytes of UTF-8 (ASCII, or 120 × "é") is fetched by id and by name through real peers on
 * 127.0.0.1: its helper files (.NAME.<id>.part, .lock.part, .state.part, temporaries) are
 * cut by UTF-8 bytes to fit in 255 bytes, the final file keeps the full name, and a second
 * copy's "NAME (1).ext" is cut too (extension kept, no code point split).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor, sameFile } from '../helpers/swarm.js'
import type { Master, Peer } from '../../src/index.js'
import { fitName, safeFileName, cutUtf8, utf8Bytes } from '../../src/protocols/paths.js'
import { PartFile, HELPER_NAME_BYTES } from '../../src/peer/download/part-file.js'

const ASCII_240 = 'n'.repeat(236) + '.bin'
const E_120 = 'é'.repeat(120)
const ASCII_254 = 'x'.repeat(250) + '.mkv'
/** 294 bytes: 2-, 3- and 4-byte code points */
const MIXED = 'ü€'.repeat(50) + '😀'.repeat(10) + '.tar'

describe('hostile names: long and multi-byte names download', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let client: Peer
  const share = (): string => join(dir.path, 'share')

  before(async () => {
    dir = await tempDir()
    await mkdir(share())
    for (const name of [ASCII_240, E_120, ASCII_254]) await writeRandomFile(join(share(), name), 3 * 1024 * 1024 + 17)
    master = await startMaster(dir.path)
    sharer = await startPeer(master, { share: share(), settleMs: 0 })
    client = await startPeer(master)
    await waitFor(() => sharer.registered(), 15_000, 'registration')
  })

  after(async () => {
    await client?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('names are cut by UTF-8 bytes, keeping the extension, never splitting a code point', () => {
    assert.equal(utf8Bytes(E_120), 240)
    assert.equal(fitName(E_120, 255), E_120)
    assert.equal(fitName(E_120, 101), 'é'.repeat(50)) // 101 bytes: the 51st é would split
    assert.equal(fitName('x'.repeat(300) + '.mkv', 255), 'x'.repeat(251) + '.mkv')
    assert.equal(fitName(ASCII_254, 255, ' (1)'), 'x'.repeat(247) + ' (1).mkv')
    assert.equal(fitName('a.b', 255, ' (2)'), 'a (2).b')
    assert.equal(cutUtf8('😀😀', 7), '😀') // a surrogate pair is one code point
    const cut = fitName(MIXED, 200)
    assert.ok(utf8Bytes(cut) <= 200 && cut.endsWith('.tar') && !cut.includes('\ufffd'))
    assert.equal(Buffer.from(cut).toString('utf8'), cut) // whole code points only
    assert.ok(utf8Bytes(safeFileName('é'.repeat(400) + '.txt')) <= 255)
    assert.ok(safeFileName('é'.repeat(400) + '.txt').endsWith('.txt'))
    // every helper name of the longest possible name fits in 255 bytes
    const longest = 'é'.repeat(127) + '.x'
    const stem = `.${fitName(longest, HELPER_NAME_BYTES)}.${'a'.repeat(16)}`
    for (const suffix of ['.part', '.lock.part', '.state.part', '.state-tmp.part', `.lock.${4194304}.abcdef.part`]) {
      assert.ok(utf8Bytes(stem + suffix) <= 255, suffix)
    }
  })

  for (const [label, name] of [['240-byte ASCII', ASCII_240], ['120 × é', E_120], ['254-byte ASCII', ASCII_254]] as const) {
    it(`${label} name: by id and by name, the final file keeps its name`, async () => {
      const hits = await client.search(name.slice(0, 20))
      const hit = hits.find(h => h.name === name)
      assert.ok(hit != null, `search finds ${label}`)
      const byId = join(dir.path, `by-id-${label.length}-${Math.random()}`)
      const a = await client.get(hit.id, { out: byId })
      assert.equal(a.path, join(byId, name))
      assert.ok(await sameFile(a.path, join(share(), name)))
      assert.deepEqual(await readdir(byId), [name], 'no helper file left')

      const byName = join(dir.path, `by-name-${Math.random()}`)
      const b = await client.get(name, { out: byName })
      assert.equal(b.path, join(byName, name))
      assert.ok(await sameFile(b.path, join(share(), name)))

      // a second copy into the same folder: "NAME (1).ext", cut to fit
      const c = await client.get(hit.id, { out: byName })
      const second = c.path.slice(byName.length + 1)
      assert.notEqual(second, name)
      assert.ok(second.includes(' (1)') && utf8Bytes(second) <= 255, second)
      assert.ok(await sameFile(c.path, join(share(), name)))
      assert.equal((await readdir(byName)).length, 2, 'no helper file left')
    })
  }

  it('a part file left by an earlier run of a 254-byte name is found again under its cut name', async () => {
    const out = join(dir.path, `resume-${Math.random()}`)
    await mkdir(out)
    const [hit] = (await client.search('xxxxxxxx')).filter(h => h.name === ASCII_254)
    // an earlier run left its (cut) part file: the next get takes it up and finishes
    const part = new PartFile(out, ASCII_254, hit.id, hit.size)
    assert.ok(utf8Bytes(part.path.slice(out.length + 1)) <= 255)
    part.close()
    const r = await client.get(hit.id, { out })
    assert.equal(r.path, join(out, ASCII_254))
    assert.deepEqual(await readdir(out), [ASCII_254])
  })
})
