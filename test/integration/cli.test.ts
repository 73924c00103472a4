/**
 * Multi-process: the built dist/master.js and dist/peer.js as real processes on 127.0.0.1,
 * driven through the command line and their --json output.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import { run, runToEnd, killAll, MASTER_JS, PEER_JS, type Proc } from '../helpers/processes.js'

const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']

function assertOneErrorLine (stderr: string): void {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`)
  assert.match(lines[0], /^error: \S/)
}

describe('CLI: dist/master.js and dist/peer.js as processes (--json)', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let share: string
  let master: Proc
  let sharer: Proc
  let masterAddr: string
  let sharerAddr: string

  before(async () => {
    dir = await tempDir('fileshare-cli-')
    share = join(dir.path, 'share')
    await mkdir(join(share, 'Photos', 'Holiday 2025'), { recursive: true })
    await mkdir(join(share, 'a'), { recursive: true })
    await mkdir(join(share, 'b'), { recursive: true })
    await writeRandomFile(join(share, 'Photos', 'Holiday 2025', 'beach-sunset.jpg'), 3 * 1024 * 1024 + 5)
    await writeFile(join(share, 'notes.txt'), 'meeting notes\n')
    // two different contents under one name
    await writeFile(join(share, 'a', 'readme.txt'), 'first readme\n')
    await writeFile(join(share, 'b', 'readme.txt'), 'second readme\n')

    master = run(MASTER_JS, ['--json', '--data', join(dir.path, 'master'), ...LISTEN])
    const ready = await master.next(e => e.event === 'ready', 'master ready')
    masterAddr = ready.addrs[0]
    sharer = run(PEER_JS, ['--share', share, '--master', masterAddr, '--data', join(dir.path, 'sharer'), '--json', ...LISTEN])
    const peerReady = await sharer.next(e => e.event === 'ready', 'sharer ready')
    sharerAddr = peerReady.addrs[0]
    // `ready` comes after the registration was accepted; the wait stays as a guard
    await waitFor(async () => (await runToEnd(PEER_JS, ['search', 'readme', '--master', masterAddr, '--json'])).events.filter(e => e.event === 'result').length === 2, 20_000, 'registration')
  })

  after(async () => {
    await killAll()
    await dir?.cleanup()
  })

  it('master prints ready with its PeerId and addresses ending in /p2p/<PeerId>', async () => {
    const ready = await master.next(e => e.event === 'ready')
    assert.match(ready.peerId, /^12D3Koo/)
    assert.ok(ready.addrs.length > 0)
    for (const a of ready.addrs) assert.ok(a.startsWith('/ip4/127.0.0.1/tcp/') && a.endsWith(`/p2p/${ready.peerId}`), a)
  })

  it('sharing peer prints ready with its PeerId, addresses, file count and master', async () => {
    const ready = await sharer.next(e => e.event === 'ready')
    assert.match(ready.peerId, /^12D3Koo/)
    assert.ok(ready.addrs.every((a: string) => a.endsWith(`/p2p/${ready.peerId}`)))
    assert.equal(ready.files, 4)
    assert.equal(ready.master, masterAddr)
  })

  it('search prints one result line per match with id, name, size and providers', async () => {
    const { code, events, stderr } = await runToEnd(PEER_JS, ['search', 'HOLI', 'beach', '--master', masterAddr, '--json'])
    assert.equal(code, 0, stderr)
    const results = events.filter(e => e.event === 'result')
    assert.equal(results.length, 1)
    assert.match(results[0].id, /^fs[a-z2-7]{52}$/)
    assert.equal(results[0].name, 'beach-sunset.jpg')
    assert.equal(results[0].path, 'Photos/Holiday 2025/beach-sunset.jpg')
    assert.equal(results[0].size, 3 * 1024 * 1024 + 5)
    assert.equal(results[0].providers, 1)
  })

  it('search with no match: exit 1, NOT_FOUND', async () => {
    const { code, events, stderr } = await runToEnd(PEER_JS, ['search', 'xylophone', '--master', masterAddr, '--json'])
    assert.equal(code, 1)
    assert.equal(events.at(-1).event, 'error')
    assert.equal(events.at(-1).code, 'NOT_FOUND')
    assertOneErrorLine(stderr)
  })

  it('get by name: progress lines, then done; the file is byte-identical and alone in --out', async () => {
    const out = join(dir.path, 'out-name')
    const { code, events, stderr } = await runToEnd(PEER_JS, ['get', 'beach-sunset.jpg', '--master', masterAddr, '--out', out, '--json'])
    assert.equal(code, 0, stderr)
    const progress = events.filter(e => e.event === 'progress')
    const done = events.find(e => e.event === 'done')
    assert.ok(progress.length >= 1)
    for (const p of progress) {
      assert.equal(p.id, done.id)
      assert.equal(p.total, 3 * 1024 * 1024 + 5)
      assert.ok(p.bytes >= 0 && p.bytes <= p.total)
    }
    assert.equal(progress.at(-1).bytes, progress.at(-1).total)
    assert.match(done.id, /^fs[a-z2-7]{52}$/)
    assert.equal(done.path, join(out, 'beach-sunset.jpg'))
    assert.equal(done.bytes, 3 * 1024 * 1024 + 5)
    assert.equal(typeof done.seconds, 'number')
    assert.ok(await sameFile(done.path, join(share, 'Photos', 'Holiday 2025', 'beach-sunset.jpg')))
    assert.deepEqual(await readdir(out), ['beach-sunset.jpg'])
  })

  it('get by id writes the file under its shared name', async () => {
    const search = await runToEnd(PEER_JS, ['search', 'notes', '--master', masterAddr, '--json'])
    const hit = search.events.find(e => e.event === 'result')
    const out = join(dir.path, 'out-id')
    const { code, events, stderr } = await runToEnd(PEER_JS, ['get', hit.id, '--master', masterAddr, '--out', out, '--json'])
    assert.equal(code, 0, stderr)
    const done = events.find(e => e.event === 'done')
    assert.equal(done.id, hit.id)
    assert.equal(done.path, join(out, 'notes.txt'))
    assert.ok(await sameFile(done.path, join(share, 'notes.txt')))
  })

  it('unknown name or id: exit 1, an error event and one line on stderr, no file', async () => {
    const out = join(dir.path, 'out-unknown')
    const byName = await runToEnd(PEER_JS, ['get', 'no-such-file.txt', '--master', masterAddr, '--out', out, '--json'])
    assert.equal(byName.code, 1)
    const e1 = byName.events.find(e => e.event === 'error')
    assert.equal(e1.code, 'NOT_FOUND')
    assert.match(e1.message, /no-such-file\.txt/)
    assertOneErrorLine(byName.stderr)
    const byId = await runToEnd(PEER_JS, ['get', 'fs' + 'a'.repeat(52), '--master', masterAddr, '--out', out, '--json'])
    assert.equal(byId.code, 1)
    const e2 = byId.events.find(e => e.event === 'error')
    assert.ok(['NOT_FOUND', 'NO_PROVIDER'].includes(e2.code), e2.code)
    assert.equal(typeof e2.message, 'string')
    assertOneErrorLine(byId.stderr)
    await assert.rejects(stat(join(out, 'no-such-file.txt')))
  })

  it('an ambiguous name: exit 1, AMBIGUOUS_NAME listing both contents', async () => {
    const { code, events, stderr } = await runToEnd(PEER_JS, ['get', 'readme.txt', '--master', masterAddr, '--out', join(dir.path, 'out-amb'), '--json'])
    assert.equal(code, 1)
    const err = events.find(e => e.event === 'error')
    assert.equal(err.code, 'AMBIGUOUS_NAME')
    assert.equal(err.candidates.length, 2)
    assert.ok(err.candidates.some((c: string) => c.includes('a/readme.txt')) && err.candidates.some((c: string) => c.includes('b/readme.txt')))
    for (const c of err.candidates) assert.match(c, /^fs[a-z2-7]{52} /)
    assertOneErrorLine(stderr)
    // without --json the candidates follow the error line for humans
    const human = await runToEnd(PEER_JS, ['get', 'readme.txt', '--master', masterAddr, '--out', join(dir.path, 'out-amb')])
    assert.equal(human.code, 1)
    assert.match(human.stderr, /^error: .*readme\.txt.*\n.*a\/readme\.txt/s)
  })

  it('--from PEER_MA without any master: by name and by id', async () => {
    const out = join(dir.path, 'out-from')
    const byName = await runToEnd(PEER_JS, ['get', 'beach-sunset.jpg', '--from', sharerAddr, '--out', out, '--json'])
    assert.equal(byName.code, 0, byName.stderr)
    const done = byName.events.find(e => e.event === 'done')
    assert.ok(await sameFile(done.path, join(share, 'Photos', 'Holiday 2025', 'beach-sunset.jpg')))
    const byId = await runToEnd(PEER_JS, ['get', done.id, '--from', sharerAddr, '--out', join(out, 'again'), '--json'])
    assert.equal(byId.code, 0, byId.stderr)
    assert.ok(await sameFile(byId.events.find(e => e.event === 'done').path, done.path))
    // an ambiguous name asked of one peer lists its candidates too
    const amb = await runToEnd(PEER_JS, ['get', 'readme.txt', '--from', sharerAddr, '--out', out, '--json'])
    assert.equal(amb.code, 1)
    assert.equal(amb.events.find(e => e.event === 'error').code, 'AMBIGUOUS_NAME')
    const missing = await runToEnd(PEER_JS, ['get', 'nothing.bin', '--from', sharerAddr, '--out', out, '--json'])
    assert.equal(missing.code, 1)
    assert.equal(missing.events.find(e => e.event === 'error').code, 'NOT_FOUND')
    assertOneErrorLine(missing.stderr)
  })

  it('usage errors exit 2 with one line on stderr', async () => {
    const cases: Array<[string, string[]]> = [
      [PEER_JS, ['get', '--master', masterAddr, '--json']],
      [PEER_JS, ['get', 'a', 'b', '--seed', '--master', masterAddr]],
      [PEER_JS, ['search', '--master', masterAddr]],
      [PEER_JS, ['search', 'x', '--limit', '0', '--master', masterAddr]],
      [PEER_JS, ['--bogus']],
      [PEER_JS, []],
      [PEER_JS, ['frobnicate', '--master', masterAddr]],
      [PEER_JS, ['get', 'x', '--master', 'not-a-multiaddr']],
      [PEER_JS, ['get', 'x', '--from', '/ip4/127.0.0.1/tcp/1']],
      [MASTER_JS, ['--nope']],
      [MASTER_JS, ['extra']]
    ]
    for (const [script, args] of cases) {
      const { code, stderr } = await runToEnd(script, args)
      assert.equal(code, 2, `${script} ${args.join(' ')} → ${code}: ${stderr}`)
      assert.match(stderr, /^error: \S/, `${args.join(' ')}`)
    }
    const json = await runToEnd(PEER_JS, ['get', '--json'])
    assert.equal(json.code, 2)
    assert.equal(json.events.find(e => e.event === 'error').code, 'USAGE')
  })

  it('provider gone: get fails with exit 1 and a clear error', async () => {
    const goneShare = join(dir.path, 'gone-share')
    await mkdir(goneShare)
    await writeRandomFile(join(goneShare, 'vanishing.bin'), 256 * 1024)
    const gone = run(PEER_JS, ['--share', goneShare, '--master', masterAddr, '--data', join(dir.path, 'gone-data'), '--json', ...LISTEN])
    await gone.next(e => e.event === 'ready')
    await waitFor(async () => (await runToEnd(PEER_JS, ['search', 'vanishing', '--master', masterAddr, '--json'])).code === 0, 20_000, 'registration')
    await gone.kill('SIGKILL')
    const out = join(dir.path, 'out-gone')
    const { code, events, stderr } = await runToEnd(PEER_JS, ['get', 'vanishing.bin', '--master', masterAddr, '--out', out, '--json'])
    assert.equal(code, 1)
    const err = events.find(e => e.event === 'error')
    assert.ok(['NO_PROVIDER', 'NOT_FOUND'].includes(err.code), `${err.code}: ${err.message}`)
    assert.match(err.message, /provider|vanishing/)
    assertOneErrorLine(stderr)
    await assert.rejects(stat(join(out, 'vanishing.bin')))
  })

  it('SIGTERM stops a sharing peer and the master cleanly (exit 0, stopped event)', async () => {
    sharer.child.kill('SIGTERM')
    assert.equal(await sharer.exited, 0, sharer.stderr())
    assert.equal((await sharer.next(e => e.event === 'stopped')).signal, 'SIGTERM')
    master.child.kill('SIGTERM')
    assert.equal(await master.exited, 0, master.stderr())
    assert.equal((await master.next(e => e.event === 'stopped')).signal, 'SIGTERM')
    // the master keeps its PeerId across a restart
    const again = run(MASTER_JS, ['--json', '--data', join(dir.path, 'master'), ...LISTEN])
    const ready = await again.next(e => e.event === 'ready')
    assert.equal(ready.peerId, (await master.next(e => e.event === 'ready')).peerId)
    again.child.kill('SIGINT')
    assert.equal(await again.exited, 0)
  })
})
