/**
 * Issue 13's finished edges of the CLI, as processes: what is shared is what was asked
 * (--share FILE, several --share), input errors name the input (exit 2, one line), network
 * errors say what was tried, per-command help and --version without libp2p, get of several
 * names, "already have it", case-insensitive names, --limit bounds.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile, readdir, symlink, readFile } from 'node:fs/promises'
import { join, dirname } from 'node:path'
import { tempDir, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import { run, runToEnd, killAll, MASTER_JS, PEER_JS, ROOT, type Proc } from '../helpers/processes.js'

const LISTEN = ['--listen', '/ip4/127.0.0.1/tcp/0']
/** A valid PeerId that belongs to no running node. */
const OTHER_PEER = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

function oneErrorLine (stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n').filter(l => !l.startsWith('warning: '))
  assert.equal(lines.length, 1, `one error line, got: ${stderr}`)
  assert.match(lines[0], pattern)
}

describe('CLI edges: help and version (no libp2p loaded)', () => {
  it('each command has its own help: every option, its default, FILESHARE_MASTER, examples', async () => {
    const search = await runToEnd(PEER_JS, ['search', '--help'])
    const get = await runToEnd(PEER_JS, ['get', '-h'])
    const share = await runToEnd(PEER_JS, ['--help'])
    const master = await runToEnd(MASTER_JS, ['--help'])
    for (const r of [search, get, share, master]) assert.equal(r.code, 0, r.stderr)
    const text = (r: { events: any[] }): string => r.events.map(e => e.line).join('\n')
    assert.notEqual(text(search), text(get))
    assert.match(text(search), /--limit N .*default: 100/)
    assert.match(text(search), /FILESHARE_MASTER/)
    assert.match(text(search), /examples:\n(.*search .*\n?){2,}/)
    for (const opt of ['--from', '--out', '--listen', '--seed', '--announce', '--max-uploads', '--no-upload', '--master', '--data', '--config', '--json']) assert.ok(text(get).includes(opt), opt)
    assert.match(text(share), /--share PATH/)
    assert.match(text(share), /search/)
    assert.match(text(master), /--listen MA .*default: \/ip4\/0\.0\.0\.0\/tcp\/4001/)
    const version = await runToEnd(PEER_JS, ['--version'])
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    assert.equal(version.events[0].line, `fileshare ${pkg.version}`)
    assert.equal((await runToEnd(MASTER_JS, ['--version'])).events[0].line, `fileshare ${pkg.version}`)
  })

  it('usage names the installed command when run through it', async () => {
    const dir = await tempDir('fileshare-bin-')
    try {
      await symlink(PEER_JS, join(dir.path, 'fileshare-peer'))
      await symlink(MASTER_JS, join(dir.path, 'fileshare-master'))
      const peer = await runToEnd(join(dir.path, 'fileshare-peer'), ['get', '--help'])
      assert.match(peer.events[0].line, /^usage: fileshare-peer get /)
      const master = await runToEnd(join(dir.path, 'fileshare-master'), ['--help'])
      assert.match(master.events[0].line, /^usage: fileshare-master /)
    } finally {
      await dir.cleanup()
    }
  })

  it('the entry points load nothing but node: built-ins and our light modules before parsing', async () => {
    // follow the static imports of dist/peer.js and dist/master.js: no package (libp2p, SQLite) among them
    const seen = new Set<string>()
    const visit = async (file: string, entry = false): Promise<void> => {
      if (seen.has(file)) return
      seen.add(file)
      const code = await readFile(file, 'utf8')
      // static imports everywhere; the entry points' own dynamic import of their command too
      const pattern = entry ? /^(?:import\s+(?:[^'"]*?\s+from\s+)?|.*await import\()['"]([^'"]+)['"]/gm : /^import\s+(?:[^'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm
      for (const m of code.matchAll(pattern)) {
        const spec = m[1]
        if (spec.startsWith('node:')) continue
        assert.ok(spec.startsWith('.'), `${file} imports ${spec} statically`)
        await visit(join(dirname(file), spec))
      }
    }
    await visit(PEER_JS, true)
    await visit(MASTER_JS, true)
    assert.ok(seen.size > 8, [...seen].join(' '))
  })
})

describe('CLI edges: input errors name the input (exit 2, one line)', () => {
  it('flags, commands and config files', async () => {
    const dir = await tempDir('fileshare-input-')
    try {
      const badConfig = join(dir.path, 'bad.json')
      await writeFile(badConfig, JSON.stringify({ listen: 'x' }))
      const unknownKey = join(dir.path, 'unknown.json')
      await writeFile(unknownKey, JSON.stringify({ lisen: ['/ip4/127.0.0.1/tcp/0'], maxUploads: 0 }))
      const aFile = join(dir.path, 'a-file')
      await writeFile(aFile, 'x')
      const cases: Array<[string, string[], RegExp]> = [
        [PEER_JS, ['search', 'x', '--master', `/ip4/127.0.0.1/tcp/4001/p2p/notapeerid`], /--master .*"notapeerid" is not a PeerId/],
        [PEER_JS, ['--share', dir.path, '--listen', '127.0.0.1:4001'], /--listen "127\.0\.0\.1:4001": .*\/ip4\/127\.0\.0\.1\/tcp\/4001/],
        [PEER_JS, ['--share', dir.path, '--listen', '/ip4/127.0.0.1/tcp/99999'], /--listen .*port 99999 is out of range/],
        [MASTER_JS, ['--listen', '/ip4/127.0.0.1/tcp/99999'], /--listen .*port 99999/],
        [PEER_JS, ['--share', dir.path, '--config', badConfig], /config .*bad\.json: "listen" must be a list of strings/],
        [PEER_JS, ['--share', dir.path, '--config', unknownKey], /"maxUploads" must be a whole number of at least 1/],
        [PEER_JS, ['get', 'x', '--out', aFile, '--master', `/ip4/127.0.0.1/tcp/1/p2p/${OTHER_PEER}`], /--out .*a-file.*is a file; expected a folder/],
        [PEER_JS, ['get', 'x', '--lsiten', '/ip4/127.0.0.1/tcp/0'], /unknown option --lsiten for get \(did you mean --listen\?\)/],
        [PEER_JS, ['serach', 'x'], /unknown command "serach" \(did you mean search\?\)/],
        [PEER_JS, ['search', 'x', '--limit', '500', '--master', `/ip4/127.0.0.1/tcp/1/p2p/${OTHER_PEER}`], /--limit "500": at most 100/],
        [PEER_JS, ['get', 'x', '--out'], /--out needs a value/],
        [PEER_JS, ['get', 'x', '--no-upload', '--max-uploads', '3'], /not with --no-upload unless --seed/]
      ]
      for (const [script, args, pattern] of cases) {
        const { code, stderr } = await runToEnd(script, args)
        assert.equal(code, 2, `${args.join(' ')} → ${code}: ${stderr}`)
        oneErrorLine(stderr, pattern)
        assert.doesNotMatch(stderr, /multibase|TypeError|is not a function/)
      }
      // an unknown key is a warning naming it, not an error
      const warned = await runToEnd(PEER_JS, ['search', 'x', '--config', unknownKey.replace('unknown', 'typo'), '--master', '/ip4/127.0.0.1/tcp/1/p2p/' + OTHER_PEER])
      assert.equal(warned.code, 2) // the file is missing: a usage error naming it
      oneErrorLine(warned.stderr, /cannot read config .*typo\.json/)
      const typo = join(dir.path, 'typo.json')
      await writeFile(typo, JSON.stringify({ lisen: ['/ip4/127.0.0.1/tcp/0'] }))
      const r = await runToEnd(PEER_JS, ['search', 'x', '--config', typo, '--master', '/ip4/127.0.0.1/tcp/1/p2p/' + OTHER_PEER])
      assert.match(r.stderr, /warning: config .*typo\.json: unknown key "lisen" ignored \(did you mean "listen"\?\)/)
    } finally {
      await dir.cleanup()
    }
  })
})

describe('CLI edges: a master and sharing peers', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Proc
  let masterAddr: string
  let masterPort: string

  before(async () => {
    dir = await tempDir('fileshare-edges-')
    master = run(MASTER_JS, ['--json', '--data', join(dir.path, 'master'), ...LISTEN])
    masterAddr = (await master.next(e => e.event === 'ready', 'master ready')).addrs[0]
    masterPort = /\/tcp\/(\d+)\//.exec(masterAddr)![1]
  })

  after(async () => {
    await killAll()
    await dir?.cleanup()
  })

  it('network errors say what was tried: a wrong master PeerId, a closed port', async () => {
    const wrong = `/ip4/127.0.0.1/tcp/${masterPort}/p2p/${OTHER_PEER}`
    const a = await runToEnd(PEER_JS, ['search', 'x', '--master', wrong])
    assert.equal(a.code, 1, a.stderr)
    oneErrorLine(a.stderr, new RegExp(`the peer at .*${masterPort}.* is not the master ${OTHER_PEER}`))
    const b = await runToEnd(PEER_JS, ['search', 'x', '--master', `/ip4/127.0.0.1/tcp/1/p2p/${OTHER_PEER}`])
    assert.equal(b.code, 1, b.stderr)
    oneErrorLine(b.stderr, /cannot reach the master at \/ip4\/127\.0\.0\.1\/tcp\/1\/.*connection refused/)
  })

  it('--share FILE and several --share: names are unique, everything asked is shared', async () => {
    const pictures = join(dir.path, 'Pictures')
    const docs = join(dir.path, 'docs')
    await mkdir(join(pictures, 'Holiday'), { recursive: true })
    await mkdir(docs)
    await writeRandomFile(join(pictures, 'Holiday', 'Beach-Sunset.jpg'), 300 * 1024 + 7)
    await writeFile(join(docs, 'minutes.txt'), 'minutes of the meeting\n')
    const single = join(dir.path, 'lonely-report.pdf')
    await writeFile(single, 'a single shared file\n')

    const one = run(PEER_JS, ['--share', single, '--master', masterAddr, '--data', join(dir.path, 'p1'), '--json', ...LISTEN])
    const ready1 = await one.next(e => e.event === 'ready', 'single-file peer ready')
    assert.equal(ready1.files, 1)
    assert.doesNotMatch(one.stderr(), /BAD_REQUEST|refused/)
    const found = await runToEnd(PEER_JS, ['search', 'lonely', '--master', masterAddr, '--json'])
    assert.equal(found.code, 0, found.stderr)
    assert.equal(found.events.find(e => e.event === 'result').path, 'lonely-report.pdf')

    const two = run(PEER_JS, ['--share', pictures, '--share', docs, '--master', masterAddr, '--data', join(dir.path, 'p2'), '--json', ...LISTEN])
    const ready2 = await two.next(e => e.event === 'ready', 'two-root peer ready')
    assert.equal(ready2.files, 2)
    const both = await runToEnd(PEER_JS, ['search', 'minutes', '--master', masterAddr, '--json'])
    assert.equal(both.events.find(e => e.event === 'result').path, 'docs/minutes.txt')
    const pic = await runToEnd(PEER_JS, ['search', 'beach', '--master', masterAddr, '--json'])
    assert.equal(pic.events.find(e => e.event === 'result').path, 'Pictures/Holiday/Beach-Sunset.jpg')

    // text mode says when it is ready and how to stop
    const text = run(PEER_JS, ['--share', docs, '--master', masterAddr, '--data', join(dir.path, 'p3'), ...LISTEN])
    await text.next(e => e.event === 'text' && /Ctrl-C stops sharing/.test(e.line), 'text ready line')
    assert.ok(text.events.some(e => /sharing 1 file from/.test(e.line)))
    await text.kill('SIGTERM')
  })

  it('get: names ignore case, several targets with one summary, "already have it"', async () => {
    const out = join(dir.path, 'out')
    await waitFor(async () => (await runToEnd(PEER_JS, ['search', 'beach', '--master', masterAddr, '--json'])).code === 0, 20_000, 'registration')
    const first = await runToEnd(PEER_JS, ['get', 'beach-sunset.JPG', 'MINUTES.txt', '--master', masterAddr, '--out', out, '--json'])
    assert.equal(first.code, 0, first.stderr)
    const done = first.events.filter(e => e.event === 'done')
    assert.equal(done.length, 2)
    assert.ok(await sameFile(done[0].path, join(dir.path, 'Pictures', 'Holiday', 'Beach-Sunset.jpg')))
    const summary = first.events.find(e => e.event === 'summary')
    assert.deepEqual([summary.files, summary.downloaded, summary.existing, summary.failed.length], [2, 2, 0, 0])

    const again = await runToEnd(PEER_JS, ['get', 'Beach-Sunset.jpg', 'no-such-file.bin', '--master', masterAddr, '--out', out])
    assert.equal(again.code, 1)
    assert.match(again.events.map(e => e.line).join('\n'), /already have it/)
    assert.match(again.events.map(e => e.line).join('\n'), /0 downloaded, 1 already there, 1 failed/)
    assert.match(again.stderr, /no-such-file\.bin.*try `search/)
    assert.deepEqual((await readdir(out)).sort(), ['Beach-Sunset.jpg', 'minutes.txt'])
  })
})
