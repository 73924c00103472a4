/**
 * The node's identity: an Ed25519 key persisted under the data folder (mode 0600), so a
 * master or peer keeps its PeerId across restarts.
 */
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { FileShareError } from '../errors.js'

export const KEY_FILE = 'peer.key'

export async function loadOrCreateKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err: any) {
    if (err?.code !== 'ENOENT') {
      throw new FileShareError('IO', `cannot read the node key ${path}: ${err?.message ?? err}`, { cause: err })
    }
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(tmp, path)
  return key
}
