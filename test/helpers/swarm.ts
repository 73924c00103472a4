/**
 * Test helpers: temporary folders, files with known content, and a local swarm (a master
 * and peers on 127.0.0.1) built with the library API.
 */
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { createMaster, createPeer, type Master, type Peer, type PeerOptions, type MasterOptions } from '../../src/index.js'

export const LOCAL = ['/ip4/127.0.0.1/tcp/0']

export async function tempDir (prefix = 'fileshare-test-'): Promise<{ path: string, cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, cleanup: async () => { await rm(path, { recursive: true, force: true }) } }
}

export async function writeRandomFile (path: string, size: number): Promise<Buffer> {
  const data = randomBytes(size)
  await writeFile(path, data)
  return data
}

export async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk)
  return hash.digest('hex')
}

export async function sameFile (a: string, b: string): Promise<boolean> {
  return await sha256File(a) === await sha256File(b)
}

export async function startMaster (dir: string, options: MasterOptions = {}): Promise<Master> {
  return await createMaster({ listen: LOCAL, data: join(dir, 'master'), providerGraceMs: 500, ...options })
}

export async function startPeer (master: Master | string | null, options: PeerOptions = {}): Promise<Peer> {
  const addr = master == null ? null : typeof master === 'string' ? master : master.addrs()[0]
  return await createPeer({ master: addr, listen: LOCAL, data: null, settleMs: 100, ...options })
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function waitFor (check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

export { readFile }
