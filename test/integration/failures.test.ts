/**
 * Starting fails loudly and cleanly: a listen address that cannot be bound, a data folder in
 * use by another process, a missing share folder or a bad master address reject with a
 * FileShareError (library) or exit 1 with one line naming the cause (CLI), and a failed
 * create leaves nothing running. Also: the README's library example runs as written.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { createSocket, type Socket } from 'node:dgram'
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createMaster, createPeer, FileShareError } from '../../src/index.js'
import { tempDir } from '../helpers/swarm.js'
import { run, runToEnd, killAll, MASTER_JS, PEER_JS, ROOT } from '../helpers/processes.js'

/** Takes a port on 127.0.0.1 (the caller closes the server). */
async function takePort (): Promise<{ port: number, server: Server }> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as { port: number }).port, server }
}

/** Takes a UDP port on 127.0.0.1 (the caller closes the socket). */
async function takeUdpPort (): Promise<{ port: number, socket: Socket }> {
  const socket = createSocket('udp4')
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', resolve))
  return { port: socket.address().port, socket }
}

function assertOneErrorLine (stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`)
  assert.match(lines[0], pattern)
}

/** Runs `code` as an ES module in a child process; resolves with its exit code and output (null code: killed after `timeoutMs`). */
async function runModule (code: string, cwd: string, timeoutMs = 30_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const file = join(cwd, `script-${Date.now()}.mjs`)
  await writeFile(file, code)
  return await new Promise(resolve => {
    const { DEBUG: _, ...env } = process.env
    const child = spawn(process.execPath, [file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', d => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', d => { stderr += d })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    child.on('close', exit => {
      clearTimeout(timer)
      resolve({ code: exit, stdout, stderr })
    })
  })
}

const INDEX_URL = pathToFileURL(join(ROOT, 'dist/index.js')).href

describe('failures at start: library', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  before(async () => { dir = await tempDir('fileshare-failures-') })
  after(async () => { await dir?.cleanup() })

  it('createMaster and createPeer reject with LISTEN when a listen port is taken', async () => {
    const { port, server } = await takePort()
    try {
      const addr = `/ip4/127.0.0.1/tcp/${port}`
      await assert.rejects(createMaster({ listen: [addr], data: null }), (err: any) =>
        err instanceof FileShareError && err.code === 'LISTEN' && err.message === `cannot listen on ${addr}: port ${port} is already in use`)
      await mkdir(join(dir.path, 'share'), { recursive: true })
      await assert.rejects(createPeer({ share: join(dir.path, 'share'), listen: [addr], data: null, master: null }), (err: any) =>
        err instanceof FileShareError && err.code === 'LISTEN' && err.message.includes(`port ${port} is already in use`))
    } finally {
      server.close()
    }
  })

  it('a QUIC listen address whose UDP port is taken rejects with LISTEN like a TCP one', async () => {
    const { port, socket } = await takeUdpPort()
    try {
      const addr = `/ip4/127.0.0.1/udp/${port}/quic-v1`
      const listen = ['/ip4/127.0.0.1/tcp/0', addr]
      await assert.rejects(createMaster({ listen, data: null }), (err: any) =>
        err instanceof FileShareError && err.code === 'LISTEN' && err.message === `cannot listen on ${addr}: UDP port ${port} is already in use`)
      await mkdir(join(dir.path, 'share-quic'), { recursive: true })
      await assert.rejects(createPeer({ share: join(dir.path, 'share-quic'), listen, data: null, master: null }), (err: any) =>
        err instanceof FileShareError && err.code === 'LISTEN' && err.message.includes(`UDP port ${port} is already in use`))
      // the same port over TCP is free: only the QUIC address is refused
      const master = await createMaster({ listen: [`/ip4/127.0.0.1/tcp/${port}`, '/ip4/127.0.0.1/udp/0/quic-v1'], data: null })
      await master.stop()
    } finally {
      socket.close()
    }
  })

  it('a missing share folder and a bad master address reject with typed errors', async () => {
    await assert.rejects(createPeer({ share: join(dir.path, 'nope'), data: null, listen: [] }), (err: any) =>
      err instanceof FileShareError && err.code === 'IO' && /no such file or folder/.test(err.message))
    await assert.rejects(createPeer({ master: '/ip4/127.0.0.1/tcp/1', data: null }), (err: any) =>
      err instanceof FileShareError && err.code === 'USAGE' && /\/p2p\/<PeerId>/.test(err.message))
    await assert.rejects(createPeer({ master: 'not a multiaddr', data: null }), (err: any) => err instanceof FileShareError && err.code === 'USAGE')
  })

  it('a failed create stops everything it started: the process exits by itself', async () => {
    const { port, server } = await takePort()
    try {
      await mkdir(join(dir.path, 'share2'), { recursive: true })
      const result = await runModule(`
        import { createPeer, createMaster } from ${JSON.stringify(INDEX_URL)}
        for (const attempt of [
          () => createPeer({ share: 'share2', listen: ['/ip4/127.0.0.1/tcp/${port}'], data: 'peer-data', master: null }),
          () => createPeer({ master: '/ip4/127.0.0.1/tcp/1', data: 'peer-data' }),
          () => createPeer({ share: './nope', data: 'peer-data' }),
          () => createMaster({ listen: ['/ip4/127.0.0.1/tcp/${port}'], data: 'master-data' })
        ]) {
          try { await attempt(); console.log('resolved') } catch (err) { console.log(err.name, err.code) }
        }
      `, dir.path, 20_000)
      assert.equal(result.code, 0, `exits by itself; stderr: ${result.stderr}`)
      assert.deepEqual(result.stdout.trim().split('\n'), ['FileShareError LISTEN', 'FileShareError USAGE', 'FileShareError IO', 'FileShareError LISTEN'])
    } finally {
      server.close()
    }
  })

  it('the README library example runs as written', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const section = readme.slice(readme.indexOf('## Library use'))
    const block = /```js\n([\s\S]*?)```/.exec(section)?.[1]
    assert.ok(block != null, 'a ```js block under "## Library use"')
    assert.ok(block.includes("from 'fileshare'"))
    const code = block.replace("from 'fileshare'", `from ${JSON.stringify(INDEX_URL)}`)
    const cwd = join(dir.path, 'readme')
    await mkdir(cwd, { recursive: true })
    const result = await runModule(code, cwd, 60_000)
    assert.equal(result.code, 0, `stdout: ${result.stdout}\nstderr: ${result.stderr}`)
    assert.match(result.stdout, /Holiday 2025\/beach\.txt/)
    assert.match(result.stdout, /downloads\/beach\.txt 18 bytes/)
    assert.equal(await readFile(join(cwd, 'downloads', 'beach.txt'), 'utf8'), 'sun, sand and sea\n')
  })
})

describe('failures at start: processes', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  before(async () => { dir = await tempDir('fileshare-failures-cli-') })
  after(async () => {
    await killAll()
    await dir?.cleanup()
  })

  it('master.js and peer.js --share with a taken --listen port exit 1 with one line naming it', async () => {
    const { port, server } = await takePort()
    try {
      const addr = `/ip4/127.0.0.1/tcp/${port}`
      const m = await runToEnd(MASTER_JS, ['--listen', addr, '--data', join(dir.path, 'm0')])
      assert.equal(m.code, 1)
      assertOneErrorLine(m.stderr, new RegExp(`^error: cannot listen on ${addr}: port ${port} is already in use$`))
      await mkdir(join(dir.path, 'share'), { recursive: true })
      const p = await runToEnd(PEER_JS, ['--share', join(dir.path, 'share'), '--listen', addr, '--data', join(dir.path, 'p0'), '--json'])
      assert.equal(p.code, 1)
      assertOneErrorLine(p.stderr, new RegExp(`^error: cannot listen on ${addr}: port ${port} is already in use$`))
      assert.equal(p.events.find(e => e.event === 'error')?.code, 'LISTEN')
    } finally {
      server.close()
    }
  })

  it('a second process on the same --data fails at once naming the folder and the running pid', async () => {
    const masterData = join(dir.path, 'master')
    const master = run(MASTER_JS, ['--json', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', masterData])
    const ready = await master.next(e => e.event === 'ready', 'master ready')
    const second = await runToEnd(MASTER_JS, ['--listen', '/ip4/127.0.0.1/tcp/0', '--data', masterData])
    assert.equal(second.code, 1)
    assertOneErrorLine(second.stderr, new RegExp(`^error: data folder ${masterData} is in use by process ${master.child.pid}\\b`))

    await mkdir(join(dir.path, 'share'), { recursive: true })
    const peerData = join(dir.path, 'peer')
    const args = ['--share', join(dir.path, 'share'), '--master', ready.addrs[0], '--listen', '/ip4/127.0.0.1/tcp/0', '--data', peerData, '--json']
    const first = run(PEER_JS, args)
    await first.next(e => e.event === 'ready', 'first peer ready')
    const again = await runToEnd(PEER_JS, args)
    assert.equal(again.code, 1)
    assertOneErrorLine(again.stderr, new RegExp(`^error: data folder ${peerData} is in use by process ${first.child.pid}\\b`))
    assert.equal(again.events.find(e => e.event === 'error')?.code, 'LOCKED')

    // a lock left by a killed process is taken over
    await first.kill('SIGKILL')
    const third = run(PEER_JS, args)
    await third.next(e => e.event === 'ready', 'peer ready after taking over a stale lock')
    assert.equal(await third.kill('SIGTERM'), 0)
    assert.equal(await master.kill('SIGTERM'), 0)
  })
})
