/**
 * Issue 10, item 8: helper files never follow links. Someone who can write into --out plants
 * a symlink (to a file outside --out) or a FIFO at the name of a download's part, state or
 * lock file before `get` runs. The get must end in FileShareError 'IO' naming the file, at
 * once (no hang on a FIFO), and the link's target must be untouched. A link at the state's
 * temporary name is replaced, never written through.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile, symlink, readdir, readlink, lstat } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor, sameFile } from '../helpers/swarm.js'
import { PEER_JS, runToEnd, killAll } from '../helpers/processes.js'
import type { Master, Peer } from '../../src/index.js'
import { FileShareError } from '../../src/errors.js'

const NAME = 'report.pdf'
const SLOW_NAME = 'slow.bin'
const PRECIOUS = 'precious bytes outside --out\n'

describe('hostile folders: helper files never follow links', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let sharer: Peer
  let slowSharer: Peer
  let client: Peer
  let id: string
  let slowId: string
  let outside: string

  before(async () => {
    dir = await tempDir()
    await mkdir(join(dir.path, 'share'))
    await mkdir(join(dir.path, 'slow'))
    await writeRandomFile(join(dir.path, 'share', NAME), 300_000)
    await writeRandomFile(join(dir.path, 'slow', SLOW_NAME), 3 * 1024 * 1024)
    master = await startMaster(dir.path)
    sharer = await startPeer(master, { share: join(dir.path, 'share'), settleMs: 0 })
    // 512 KiB/s: the download lasts ≈ 6 s, a chunk every 2 s, so its resume state (written
    // 500 ms after a chunk) is surely written meanwhile (at 1.5 MiB/s a loaded machine once
    // verified all 3 chunks within 500 ms, and the link was never replaced)
    slowSharer = await startPeer(master, { share: join(dir.path, 'slow'), settleMs: 0, maxUploadRate: 512 * 1024 })
    client = await startPeer(master)
    await waitFor(() => sharer.registered() && slowSharer.registered(), 15_000, 'registration')
    id = (await client.search('report'))[0].id
    slowId = (await client.search('slow'))[0].id
    outside = join(dir.path, 'outside.txt')
  })

  after(async () => {
    await killAll()
    await client?.stop()
    await slowSharer?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  /** A fresh --out, a precious file outside it. */
  async function freshOut (): Promise<string> {
    await writeFile(outside, PRECIOUS)
    const out = join(dir.path, `out-${Math.random().toString(36).slice(2)}`)
    await mkdir(out)
    return out
  }

  function helper (kind: 'part' | 'state' | 'lock', fileId = id, name = NAME): string {
    const stem = `.${name}.${fileId.slice(2, 18)}`
    return kind === 'part' ? `${stem}.part` : `${stem}.${kind}.part`
  }

  /** get must fail with IO naming `trap`, promptly, and leave the outside file as it was. */
  async function expectTrap (out: string, trap: string): Promise<void> {
    const started = Date.now()
    const err = await Promise.race([
      client.get(id, { out }).then(() => null, (e: unknown) => e),
      new Promise(resolve => setTimeout(() => resolve('hung'), 20_000))
    ])
    assert.notEqual(err, 'hung', 'get returned')
    assert.ok(err instanceof FileShareError, `a FileShareError, got ${String(err)}`)
    assert.equal(err.code, 'IO', err.message)
    assert.ok(err.message.includes(trap), `the message names ${trap}: ${err.message}`)
    assert.ok(Date.now() - started < 15_000)
    assert.equal(await readFile(outside, 'utf8'), PRECIOUS, 'the link target is untouched')
    assert.ok(!(await readdir(out)).includes(NAME), 'nothing under the final name')
  }

  for (const kind of ['part', 'state', 'lock'] as const) {
    it(`a symlink at the ${kind} file's name: IO, the target untouched`, async () => {
      const out = await freshOut()
      await symlink(outside, join(out, helper(kind)))
      await expectTrap(out, helper(kind))
      assert.ok((await lstat(join(out, helper(kind)))).isSymbolicLink(), 'the trap is left for the user to see')
    })
  }

  it('a dangling symlink at the part name (it would create a file outside --out): IO, nothing created', async () => {
    const out = await freshOut()
    const target = join(dir.path, `created-${Math.random()}`)
    await symlink(target, join(out, helper('part')))
    await expectTrap(out, helper('part'))
    await assert.rejects(lstat(target), { code: 'ENOENT' })
  })

  it('a FIFO at the state name: IO at once, no hang', async () => {
    const out = await freshOut()
    execFileSync('mkfifo', [join(out, helper('state'))])
    await expectTrap(out, helper('state'))
  })

  it('a FIFO at the state name with a part file of an earlier run: IO, no hang, the part file kept', async () => {
    const out = await freshOut()
    await writeFile(join(out, helper('part')), Buffer.alloc(1000))
    execFileSync('mkfifo', [join(out, helper('state'))])
    await expectTrap(out, helper('state'))
    assert.equal((await lstat(join(out, helper('part')))).size, 1000)
  })

  it('a FIFO at the lock name: IO, no hang', async () => {
    const out = await freshOut()
    execFileSync('mkfifo', [join(out, helper('lock'))])
    await expectTrap(out, helper('lock'))
  })

  it('the CLI (a real process): exit 1 and one IO error line, the target untouched', async () => {
    const out = await freshOut()
    await symlink(outside, join(out, helper('part')))
    execFileSync('mkfifo', [join(out, helper('state'))])
    const r = await runToEnd(PEER_JS, ['get', id, '--master', master.addrs()[0], '--out', out, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'])
    assert.equal(r.code, 1, r.stderr)
    const error = r.events.find(e => e.event === 'error')
    assert.equal(error?.code, 'IO', r.stderr)
    assert.match(error.message, /symbolic link|FIFO/)
    assert.equal(await readFile(outside, 'utf8'), PRECIOUS)
  })

  it('a symlink at the state file\'s temporary name is never written through', async () => {
    const out = await freshOut()
    const tmp = helper('state', slowId, SLOW_NAME).replace(/\.part$/, '-tmp.part')
    await symlink(outside, join(out, tmp))
    const r = await client.get(slowId, { out })
    assert.ok(await sameFile(r.path, join(dir.path, 'slow', SLOW_NAME)))
    assert.equal(await readFile(outside, 'utf8'), PRECIOUS)
    // a state write replaces the link (the download takes ≈ 6 s, a state write comes 0.5 s
    // after a chunk); should the download end before the first one, the link is still there,
    // untouched
    const left = (await readdir(out)).filter(name => name !== SLOW_NAME)
    for (const name of left) {
      assert.equal(name, tmp)
      assert.equal(await readlink(join(out, name)), outside, 'the planted link is untouched')
    }
  })
})
