/**
 * Issue 10, item 9: nothing from the network reaches the terminal raw. A hostile node tries
 * to register paths carrying ESC/BEL/CR/LF, C1 and bidi controls (refused: BAD_REQUEST); a
 * hostile provider answers with an error message full of escape sequences, or serves a
 * real file under a manifest name with a bidi override and ESC; `dist/peer.js` (a real
 * process) must print none of it raw, in text or JSON mode, and the downloaded file's name
 * must carry none of it.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { tempDir, startMaster, writeRandomFile } from '../helpers/swarm.js'
import { PEER_JS, runToEnd } from '../helpers/processes.js'
import type { Master } from '../../src/index.js'
import { createNode, type FileShareNode } from '../../src/node/create-node.js'
import { MasterClient } from '../../src/peer/master-client.js'
import { RegisterRequest } from '../../src/protocols/register/pb/register.js'
import { FetchRequest, FetchResponse, Manifest as WireManifest } from '../../src/protocols/fetch/pb/fetch.js'
import { encodeFrame } from '../../src/protocols/frames.js'
import { PROTOCOL_FETCH } from '../../src/protocols/fetch/constants.js'
import { MAX_CONTROL_FRAME } from '../../src/protocols/constants.js'
import { hashFile } from '../../src/content/hash-file.js'
import { formatContentId, chunkLength } from '../../src/content/content-id.js'
import { FileShareError } from '../../src/errors.js'
import { printable } from '../../src/cli/printable.js'
import { safeFileName, isSafeRelativePath } from '../../src/protocols/paths.js'

/** Clears the screen, homes the cursor, rings the bell, forges a line, reverses the rest. */
const EVIL = '\x1b[2J\x1b[H\x07\r\nerror: none\x1b]0;owned\x07 \u009b31m \u202etxt.exe'
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/

/** Runs dist/peer.js to the end; raw stdout and stderr. */
async function peerJs (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const { code, stdout, stderr } = await runToEnd(PEER_JS, args)
  return { code, stdout, stderr }
}

/** A fetch provider that answers every request with `answer`. */
async function hostileProvider (answer: (req: FetchRequest, stream: Stream) => void): Promise<FileShareNode> {
  const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
  await node.handle(PROTOCOL_FETCH, async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: MAX_CONTROL_FRAME })
    try {
      while (true) answer(FetchRequest.decode((await lp.read()).subarray()), stream)
    } catch {}
    await stream.close().catch(() => {})
  })
  return node
}

function reply (stream: Stream, res: Partial<FetchResponse>, payload?: Uint8Array): void {
  stream.send(encodeFrame(FetchResponse.encode({ status: FetchResponse.Status.OK, message: '', index: 0, length: payload?.length ?? 0, ...res })))
  if (payload != null) stream.send(payload)
}

describe('hostile text: nothing from the network reaches the terminal raw', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let attacker: FileShareNode
  const nodes: FileShareNode[] = []

  before(async () => {
    dir = await tempDir()
    master = await startMaster(dir.path)
    attacker = await createNode({ listen: [] })
    nodes.push(attacker)
  })

  after(async () => {
    for (const n of nodes) { try { await n.stop() } catch {} }
    await master?.stop()
    await dir?.cleanup()
  })

  it('the master refuses registered paths with control or bidi characters (BAD_REQUEST)', async () => {
    const client = new MasterClient(attacker, multiaddr(master.addrs()[0]))
    const evil = ['clear\x1b[2J.txt', 'bell\x07.txt', 'cr\rforged.txt', 'lf\nforged.txt', 'tab\tx', 'del\x7f', 'c1\u009b31m.txt', 'c1\u0085nel',
      'dir/\u202etxt.exe', 'lre\u202ax', 'lri\u2066x', 'pdi\u2069x', 'lrm\u200ex', 'rlm\u200fx', 'alm\u061cx', 'esc/in\x1b/dir/x.txt']
    for (const path of evil) {
      assert.equal(isSafeRelativePath(path), false, JSON.stringify(path))
      const err = await client.register({ op: RegisterRequest.Op.RESET, files: [{ id: randomBytes(32), path, size: 10 }], paths: [] }).then(() => null, (e: unknown) => e)
      assert.ok(err instanceof FileShareError && /BAD_REQUEST/.test(err.message), `${JSON.stringify(path)}: ${String(err)}`)
      // REMOVE is checked the same way
      const rm = await client.register({ op: RegisterRequest.Op.REMOVE, files: [], paths: [path] }).then(() => null, (e: unknown) => e)
      assert.ok(rm instanceof FileShareError && /BAD_REQUEST/.test(rm.message), `REMOVE ${JSON.stringify(path)}`)
    }
    assert.equal(master.index.fileCount(attacker.peerId.toString()), 0)
    assert.equal(master.index.peerCount(), 0, 'a refused registration leaves no peers row')
    // honest names with accents, emoji, Arabic and Hebrew letters still register
    const ok = await client.register({ op: RegisterRequest.Op.RESET, files: [{ id: randomBytes(32), path: 'été/עברית عربي 😀.txt', size: 10 }], paths: [] })
    assert.equal(ok.files, 1)
  })

  it('a provider\'s error message full of escape sequences is printed escaped (text and JSON)', async () => {
    const provider = await hostileProvider((req, stream) => { reply(stream, { status: FetchResponse.Status.ERROR, message: EVIL, index: req.index }) })
    nodes.push(provider)
    const from = provider.getMultiaddrs()[0].toString()
    const id = formatContentId(randomBytes(32))
    const out = join(dir.path, 'out-error')
    for (const target of [id, 'some-name.txt']) {
      const text = await peerJs(['get', target, '--from', from, '--out', out, '--listen', '/ip4/127.0.0.1/tcp/0'])
      assert.equal(text.code, 1, text.stderr)
      assert.ok(!RAW.test(text.stdout + text.stderr), `raw control in text output: ${JSON.stringify(text.stderr)}`)
      assert.ok(text.stderr.includes('\\x1b[2J'), `escaped, visible: ${text.stderr}`)
      assert.equal(text.stderr.trim().split('\n').filter(l => l.startsWith('error:')).length, 1, 'no forged error line')

      const json = await peerJs(['get', target, '--from', from, '--out', out, '--listen', '/ip4/127.0.0.1/tcp/0', '--json'])
      assert.equal(json.code, 1)
      assert.ok(!RAW.test(json.stdout), `raw control in JSON: ${JSON.stringify(json.stdout)}`)
      const lines = json.stdout.trim().split('\n').map(l => JSON.parse(l))
      const error = lines.find(e => e.event === 'error')
      assert.ok(error?.message.includes(EVIL) || lines.some(e => e.reason?.includes(EVIL)), 'JSON keeps the exact text, escaped')
    }
  })

  it('a manifest name with a bidi override and ESC: the file is written under a clean name, printed clean', async () => {
    const file = join(dir.path, 'real.bin')
    const bytes = await writeRandomFile(file, 200_000)
    const { id, manifest } = await hashFile(file)
    const provider = await hostileProvider((req, stream) => {
      if (req.kind === FetchRequest.Kind.MANIFEST) {
        reply(stream, {}, WireManifest.encode({ ...manifest, name: 'invoice\u202efdp.exe\x1b[2J\u0007\u200f' }))
      } else {
        const len = chunkLength(manifest, req.index)
        reply(stream, { index: req.index }, bytes.subarray(req.index * manifest.chunkSize, req.index * manifest.chunkSize + len))
      }
    })
    nodes.push(provider)
    const out = join(dir.path, 'out-bidi')
    await mkdir(out)
    const r = await peerJs(['get', formatContentId(id), '--from', provider.getMultiaddrs()[0].toString(), '--out', out, '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(!RAW.test(r.stdout + r.stderr), JSON.stringify(r.stdout))
    const names = await readdir(out)
    assert.equal(names.length, 1)
    assert.ok(!RAW.test(names[0]), JSON.stringify(names[0]))
    assert.equal(names[0], safeFileName('invoice\u202efdp.exe\x1b[2J\u0007\u200f'))
    assert.equal(names[0], 'invoicefdp.exe_[2J_')
  })

  it('search results already in an index (an older master) are printed escaped', async () => {
    const peer = `12D3KooWEvil${Math.random()}`
    master.index.addFiles(peer, [{ id: randomBytes(32), path: `music/zebra\x1b[2J\r\nforged\u202e.mp3`, size: 5 }], false)
    master.index.setLive(peer, true)
    const r = await peerJs(['search', 'zebra', '--master', master.addrs()[0]])
    assert.equal(r.code, 0, r.stderr)
    assert.ok(!RAW.test(r.stdout + r.stderr), JSON.stringify(r.stdout))
    assert.ok(r.stdout.includes('zebra\\x1b[2J\\x0d\\x0aforged\\u202e.mp3'), r.stdout)
    assert.equal(r.stdout.trim().split('\n').length, 1, 'one result line, none forged')
  })

  it('printable() makes every control and bidi character visible', () => {
    assert.equal(printable('a\x1b[2Jb\x07\r\n\u009b\u202e\u2066\u200f\u061c\x7f'), 'a\\x1b[2Jb\\x07\\x0d\\x0a\\x9b\\u202e\\u2066\\u200f\\u061c\\x7f')
    assert.equal(printable('été 😀 عربي'), 'été 😀 عربي')
  })
})
