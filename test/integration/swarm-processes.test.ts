/**
 * Swarm downloads through the real command (`node dist/peer.js get …`, issue 4): resume
 * after the downloading process is SIGKILLed, `get --seed`, and exit 1 with no file
 * when every provider lies. The master and sharing peers run in this process.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, copyFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, sameFile, waitFor } from '../helpers/swarm.js'
import { run as runProcess, killAll, PEER_JS, type Proc } from '../helpers/processes.js'
import { hashFile, formatContentId, type Master, type Peer } from '../../src/index.js'

const MiB = 1024 * 1024

describe('swarm download through dist/peer.js processes', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let masterAddr: string
  const peers: Peer[] = []

  async function sharer (name: string, from: string, options: Parameters<typeof startPeer>[1] = {}): Promise<Peer> {
    const share = join(dir.path, `share-${peers.length}`)
    await mkdir(share, { recursive: true })
    await copyFile(from, join(share, name))
    const peer = await startPeer(master, { share, ...options })
    peers.push(peer)
    await waitFor(() => peer.registered(), 10_000, 'registration')
    return peer
  }

  /** `node dist/peer.js ARGS --json` */
  function run (args: string[]): Proc {
    return runProcess(PEER_JS, [...args, '--json'])
  }

  before(async () => {
    dir = await tempDir('fileshare-swarm-proc-')
    master = await startMaster(dir.path)
    masterAddr = master.addrs()[0]
  })

  after(async () => {
    await killAll()
    for (const p of peers) await p.stop().catch(() => {})
    await master?.stop()
    await dir?.cleanup()
  })

  it('resumes after the get process is SIGKILLed: the first progress event counts the kept bytes', async () => {
    const src = join(dir.path, 'movie.bin')
    await writeRandomFile(src, 24 * MiB + 11)
    const id = formatContentId((await hashFile(src)).id)
    await sharer('movie.bin', src, { maxUploadRate: 4 * MiB })
    const out = join(dir.path, 'out-movie')

    const first = run(['get', id, '--master', masterAddr, '--out', out])
    // past a few resume-state writes, well before the end
    const seen = await first.next(e => e.event === 'progress' && e.bytes >= 8 * MiB)
    assert.ok(seen.bytes < seen.total)
    // the resume state is written every RESUME_STATE_INTERVAL_MS: on a loaded machine 8 MiB
    // can arrive before the first write (seen), so wait for the file itself (6 s at 4 MiB/s)
    await waitFor(async () => (await readdir(out)).some(n => n.endsWith('.state.part')), 20_000, 'resume state written')
    first.child.kill('SIGKILL')
    await first.exited
    const left = await readdir(out)
    assert.ok(!left.includes('movie.bin'), 'no file under the final name')
    assert.ok(left.some(n => n.endsWith('.state.part')), `resume state written: ${left.join(', ')}`)

    const second = run(['get', id, '--master', masterAddr, '--out', out])
    assert.equal(await second.exited, 0)
    const progress = second.events.filter(e => e.event === 'progress')
    // the state trails the verified chunks by at most RESUME_STATE_INTERVAL_MS
    assert.ok(progress[0].bytes > 0 && progress[0].bytes < progress[0].total, `first progress event counts the kept bytes (${progress[0].bytes})`)
    assert.equal(second.events.find(e => e.event === 'resumed')?.bytes, progress[0].bytes)
    const done = second.events.find(e => e.event === 'done')
    assert.ok(await sameFile(done.path, src))
    assert.deepEqual(await readdir(out), ['movie.bin'])
  })

  it('get --seed keeps serving the file after it completes, until SIGTERM', async () => {
    const src = join(dir.path, 'album.bin')
    await writeRandomFile(src, 3 * MiB + 3)
    const id = formatContentId((await hashFile(src)).id)
    const origin = await sharer('album.bin', src)
    const seeder = run(['get', id, '--master', masterAddr, '--out', join(dir.path, 'out-seed'), '--seed', '--listen', '/ip4/127.0.0.1/tcp/0'])
    const seeding = await seeder.next(e => e.event === 'seeding')
    // the seeder registers with the master; once the origin is gone the seeder alone serves the file
    const client = await startPeer(master)
    peers.push(client)
    await waitFor(async () => (await client.master!.providers((await hashFile(src)).id)).providers.some(p => p.peer.toString() === seeding.peerId), 10_000, 'seeder registered')
    await origin.stop()
    const result = await client.get(id, { out: join(dir.path, 'out-from-seeder') })
    assert.ok(await sameFile(result.path, src))
    assert.equal(result.providers.find(p => p.peer === seeding.peerId)?.bytes, result.bytes)
    seeder.child.kill('SIGTERM')
    assert.equal(await seeder.exited, 0)
    assert.ok(seeder.events.some(e => e.event === 'stopped'))
  })

  it('exits 1 with VERIFICATION_FAILED and leaves no file when every provider lies', async () => {
    const src = join(dir.path, 'fake.bin')
    await writeRandomFile(src, 2 * MiB)
    const { id, manifest } = await hashFile(src)
    const corrupt = join(dir.path, 'fake-corrupt.bin')
    await writeRandomFile(corrupt, 2 * MiB)
    const liar = await startPeer(master)
    peers.push(liar)
    await liar.seed({ id: formatContentId(id), path: corrupt, manifest })
    await liar.flushRegistration()
    await waitFor(() => liar.registered(), 10_000, 'liar registered')
    const out = join(dir.path, 'out-fake')
    const get = run(['get', formatContentId(id), '--master', masterAddr, '--out', out])
    assert.equal(await get.exited, 1)
    const error = get.events.find(e => e.event === 'error')
    assert.equal(error?.code, 'VERIFICATION_FAILED')
    assert.ok(get.events.some(e => e.event === 'provider-dropped' && e.peer === liar.peerId))
    assert.ok(!(await readdir(out).catch(() => [] as string[])).includes('fake.bin'))
  })
})
