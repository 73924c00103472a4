/**
 * Issue 10, item 4: a sharer serves only the bytes it hashed. Sharers run with `watch:
 * false` and no periodic rescan, so only the fetch server can notice:
 * - a shared file replaced by a symlink to a file outside the share: the get fails over
 *   (or fails with NO_PROVIDER, never VERIFICATION_FAILED), not one byte of the outside
 *   file is sent, and the id is withdrawn from the master;
 * - a file edited in place: the downloader hears CHANGED, does not count the sharer as a
 *   liar, and the file is hashed again and registered under its new id;
 * - a file edited while it is being served: the sharer stops serving it mid-download, the
 *   download completes from another provider.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { mkdir, copyFile, rename, symlink, open, readFile, realpath } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { tempDir, startMaster, startPeer, writeRandomFile, waitFor, sameFile } from '../helpers/swarm.js'
import { download, hashFile, formatContentId, type Master, type Peer, type DownloadEvent, type ProviderRef } from '../../src/index.js'
import { FetchSession, FetchError, isChanged } from '../../src/protocols/fetch/client.js'
import { FetchResponse } from '../../src/protocols/fetch/pb/fetch.js'
import type { FetchServer } from '../../src/protocols/fetch/index.js'
import { FileShareError } from '../../src/errors.js'

const MiB = 1024 * 1024

function refOf (peer: Peer): ProviderRef {
  return { peer: peer.node.peerId, addrs: [multiaddr(peer.addrs()[0])] }
}

function dropsOf (events: DownloadEvent[]): Array<{ peer: string, reason: string }> {
  return events.flatMap(e => e.event === 'provider-dropped' ? [{ peer: e.peer, reason: e.reason }] : [])
}

function bytesServed (peer: Peer): number {
  return (peer.node.services.fetch as FetchServer).bytesServed
}

/** Overwrites `length` bytes at `position` in place (same inode). */
async function editInPlace (path: string, position: number, length = 64): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    await fh.write(Buffer.alloc(length, 0x5a), 0, length, position)
  } finally {
    await fh.close()
  }
}

/** Providers the master lists for `id`. */
async function providersOf (client: Peer, id: Uint8Array): Promise<string[]> {
  return (await client.master!.providers(id)).providers.map(p => p.peer.toString())
}

describe('hostile files: a sharer serves only the bytes it hashed', () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  /** watch: false, no rescans: only its fetch server can notice a change */
  let sharer: Peer
  /** shares honest copies */
  let honest: Peer
  let client: Peer
  let share: string
  let copies: string
  let outside: string

  /** Writes `name` into the sharer's folder and an identical copy into the honest one; resolves once both serve it. */
  async function shared (name: string, size: number): Promise<{ path: string, id: Uint8Array, idText: string }> {
    const path = join(share, name)
    await writeRandomFile(path, size)
    await copyFile(path, join(copies, name))
    const { id } = await hashFile(path)
    await Promise.all([sharer.rescan(), honest.rescan()])
    await Promise.all([sharer.flushRegistration(), honest.flushRegistration()])
    await waitFor(async () => (await providersOf(client, id)).length === 2, 10_000, `${name} registered by both`)
    return { path, id, idText: formatContentId(id) }
  }

  before(async () => {
    dir = await tempDir()
    share = join(dir.path, 'share')
    copies = join(dir.path, 'copies')
    outside = join(dir.path, 'outside')
    await Promise.all([mkdir(share), mkdir(copies), mkdir(outside)])
    master = await startMaster(dir.path)
    sharer = await startPeer(master, { share, watch: false, rescanIntervalMs: 0, settleMs: 0, reachability: 'public' })
    honest = await startPeer(master, { share: copies, watch: false, rescanIntervalMs: 0, settleMs: 0, reachability: 'public' })
    client = await startPeer(master)
    await waitFor(() => sharer.registered() && honest.registered(), 15_000, 'registration')
  })

  after(async () => {
    await client?.stop()
    await honest?.stop()
    await sharer?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('a file swapped for a symlink to an outside file: NOT served, no outside byte sent, withdrawn; the get fails over', async () => {
    const secret = join(outside, 'secret.bin')
    const secretBytes = await writeRandomFile(secret, 3 * MiB)
    const file = await shared('swap.bin', 3 * MiB)
    // atomically replace the shared file by a link to the outside one (watch: false: nobody notices)
    await symlink(secret, join(share, '.swap.tmp'))
    await rename(join(share, '.swap.tmp'), file.path)
    const before = bytesServed(sharer)

    // the sharer alone: a clean refusal, never VERIFICATION_FAILED
    const events: DownloadEvent[] = []
    await assert.rejects(download({ node: client.node, id: file.id, outDir: join(dir.path, 'out-swap-1'), providers: [refOf(sharer)], onEvent: e => events.push(e) }),
      (err: any) => err instanceof FileShareError && err.code === 'NO_PROVIDER' && /CHANGED/.test(err.message), 'NO_PROVIDER with CHANGED')
    assert.ok(dropsOf(events).every(d => /CHANGED/.test(d.reason)), JSON.stringify(dropsOf(events)))
    assert.equal(bytesServed(sharer), before, 'not one chunk byte was sent')

    // withdrawn at once (catalog and master), and the look again does not share the link
    assert.equal(sharer.catalog.get(file.id), undefined)
    await sharer.flushRegistration()
    await waitFor(async () => !(await providersOf(client, file.id)).includes(sharer.peerId), 10_000, 'withdrawn from the master')
    await sharer.rescan()
    assert.equal(sharer.catalog.has('swap.bin'), false, 'a link out of the share is not shared')

    // through the master the get uses the honest copy
    const result = await client.get(file.idText, { out: join(dir.path, 'out-swap-2') })
    assert.ok(await sameFile(result.path, join(copies, 'swap.bin')))
    assert.notDeepEqual(await readFile(result.path), secretBytes)
    assert.equal(bytesServed(sharer), before)
  })

  it('the same swap with both providers listed: a clean failover, the sharer is not a liar', async () => {
    const secret = join(outside, 'secret2.bin')
    await writeRandomFile(secret, 4 * MiB)
    const file = await shared('swap2.bin', 4 * MiB)
    await symlink(secret, join(share, '.swap2.tmp'))
    await rename(join(share, '.swap2.tmp'), file.path)
    const before = bytesServed(sharer)
    const events: DownloadEvent[] = []
    const result = await download({ node: client.node, id: file.id, outDir: join(dir.path, 'out-swap2'), providers: [refOf(sharer), refOf(honest)], onEvent: e => events.push(e) })
    assert.ok(await sameFile(result.path, join(copies, 'swap2.bin')))
    assert.equal(bytesServed(sharer), before, 'not one chunk byte was sent')
    assert.ok(dropsOf(events).every(d => !/verification|does not match/.test(d.reason)), JSON.stringify(dropsOf(events)))
    assert.equal(result.providers.find(p => p.peer === sharer.peerId)?.bytes ?? 0, 0)
  })

  it('a file edited in place: CHANGED (not a lie), re-hashed and registered under its new id', async () => {
    const file = await shared('edit.bin', 3 * MiB)
    await editInPlace(file.path, MiB + 7)
    const { id: newId } = await hashFile(file.path)

    // the protocol answer itself
    const session = new FetchSession(await client.node.dialProtocol(multiaddr(sharer.addrs()[0]), '/fileshare/fetch/1.0.0'))
    try {
      await assert.rejects(session.manifest(file.id), (err: any) => err instanceof FetchError && isChanged(err) && err.status === FetchResponse.Status.CHANGED && err.code === 'NOT_FOUND')
    } finally {
      session.abort(new Error('done'))
    }
    // the download engine: a refusal, the only provider → NO_PROVIDER, never VERIFICATION_FAILED
    await assert.rejects(download({ node: client.node, id: file.id, outDir: join(dir.path, 'out-edit-1'), providers: [refOf(sharer)] }),
      (err: any) => err instanceof FileShareError && err.code === 'NO_PROVIDER')

    // re-hashed: the new id is served and registered, the old one is gone
    await waitFor(() => sharer.catalog.get(newId) != null, 10_000, 'the edited file re-hashed')
    assert.equal(sharer.catalog.get(file.id), undefined)
    await sharer.flushRegistration()
    await waitFor(async () => (await providersOf(client, newId)).includes(sharer.peerId), 10_000, 'the new id registered')
    assert.deepEqual(await providersOf(client, file.id), [honest.peerId])
    const result = await client.get(formatContentId(newId), { out: join(dir.path, 'out-edit-2') })
    assert.ok(await sameFile(result.path, file.path))
  })

  it('a symlink inside the share is still served (opened at its real path, without following links)', async () => {
    await mkdir(join(share, 'in'))
    const target = join(share, 'in', 'target.bin')
    await writeRandomFile(target, 2 * MiB)
    await symlink(target, join(share, 'alias.bin'))
    const { id } = await hashFile(target)
    await sharer.rescan()
    const entry = sharer.catalog.get(id)
    assert.ok(entry != null)
    const alias = [...entry.files].find(([, rel]) => rel === 'alias.bin')
    assert.ok(alias != null, 'the link is shared')
    assert.equal(entry.sources.get(alias[0])?.open, join(await realpath(share), 'in', 'target.bin'))
    // only the link left in the catalog: the server opens its real path
    sharer.catalog.remove('in/target.bin')
    const result = await download({ node: client.node, id, outDir: join(dir.path, 'out-alias'), providers: [refOf(sharer)] })
    assert.ok(await sameFile(result.path, target))
  })

  it('a file edited while being served stops being served; the download completes elsewhere', async () => {
    // a slow sharer and a faster honest one: the slow one serves a chunk, then its file changes
    const slowShare = join(dir.path, 'slow-share')
    const slowCopies = join(dir.path, 'slow-copies')
    await Promise.all([mkdir(slowShare), mkdir(slowCopies)])
    const path = join(slowShare, 'live.bin')
    await writeRandomFile(path, 12 * MiB)
    await copyFile(path, join(slowCopies, 'live.bin'))
    const { id } = await hashFile(path)
    const options = { watch: false, rescanIntervalMs: 0, settleMs: 0, reachability: 'public' as const }
    const slow = await startPeer(master, { ...options, share: slowShare, maxUploadRate: MiB })
    const fast = await startPeer(master, { ...options, share: slowCopies, maxUploadRate: 3 * MiB })
    try {
      const events: DownloadEvent[] = []
      let edited: Promise<void> | null = null
      const result = await download({
        node: client.node,
        id,
        outDir: join(dir.path, 'out-live'),
        providers: [refOf(slow), refOf(fast)],
        onEvent: e => events.push(e),
        onChunk: (_index, peer) => { if (peer === slow.peerId) edited ??= editInPlace(path, 11 * MiB) }
      })
      assert.ok(edited != null, 'the slow sharer served a chunk before the edit')
      await edited
      assert.ok(await sameFile(result.path, join(slowCopies, 'live.bin')))
      const drops = dropsOf(events).filter(d => d.peer === slow.peerId)
      assert.ok(drops.length > 0 && drops.every(d => /CHANGED/.test(d.reason)), JSON.stringify(dropsOf(events)))
      assert.equal(slow.catalog.get(id), undefined, 'withdrawn')
      const { id: newId } = await hashFile(path)
      await waitFor(() => slow.catalog.get(newId) != null, 10_000, 'the edited file re-hashed')
    } finally {
      await Promise.all([slow.stop(), fast.stop()])
    }
  })
})
