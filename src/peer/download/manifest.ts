/**
 * The manifest race: every provider is dialled at once and asked for the manifest in the
 * order their sessions open (an unreachable provider first in the list does not delay the
 * start); the first manifest that hashes to the content id wins. A provider whose
 * manifest does not match is a liar; when every provider failed and some only answered
 * BUSY, those are asked again after a back-off (BUSY_MAX_RETRIES rounds at most).
 */
import { manifestMatches, type Manifest } from '../../content/content-id.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import { type FetchSession, isBusy, waitBusy } from '../../protocols/fetch/client.js'
import type { ProviderPool } from './provider-pool.js'
import type { ProviderRef } from './types.js'
import { BUSY_MAX_RETRIES } from './tuning.js'

export interface ManifestSource {
  provider: ProviderRef
  /** the session the manifest came over (the first worker goes on with it) */
  session: FetchSession
  manifest: Manifest
  /** the provider's name for the file */
  name: string
}

export async function fetchManifest (pool: ProviderPool, providers: ProviderRef[], id: Uint8Array, idText: string, signal?: AbortSignal): Promise<ManifestSource> {
  for (const p of providers) pool.dialEarly(p)
  const remaining = new Set(providers)
  for (let round = 0; ; round++) {
    const found = await fetchManifestFrom(pool, remaining, id)
    if (found != null) return found
    // every provider failed: wait for those that were only BUSY, then ask them again
    const busy = providers.filter(p => pool.busy(p.peer.toString()) === round + 1)
    if (busy.length === 0 || round + 1 >= BUSY_MAX_RETRIES) break
    await waitBusy(round + 1, signal)
    for (const p of busy) {
      pool.dialEarly(p)
      remaining.add(p)
    }
  }
  throw new FileShareError(pool.liars.size > 0 && pool.liars.size === pool.droppedCount ? 'VERIFICATION_FAILED' : 'NO_PROVIDER',
    `no provider could send ${idText} (${pool.reasons()})`)
}

async function fetchManifestFrom (pool: ProviderPool, remaining: Set<ProviderRef>, id: Uint8Array): Promise<ManifestSource | null> {
  while (remaining.size > 0) {
    const provider = await Promise.race([...remaining].map(async p => {
      await pool.settled(p)
      return p
    }))
    remaining.delete(provider)
    const peer = provider.peer.toString()
    let session: FetchSession | undefined
    try {
      session = await pool.sessionFor(provider)
      const { manifest, name } = await session.manifest(id)
      if (!manifestMatches(manifest, id)) {
        pool.liars.add(peer)
        pool.drop(peer, 'sent a manifest that does not match the content id')
        session.abort(new FileShareError('VERIFICATION_FAILED', 'bad manifest'))
        continue
      }
      return { provider, session, manifest, name }
    } catch (err: any) {
      session?.abort(err)
      if (isBusy(err)) pool.noteBusy(peer)
      pool.drop(peer, toFileShareError(err, 'NETWORK').message)
    }
  }
  return null
}
