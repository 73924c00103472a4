/**
 * The manifest race: every provider is dialled at once and asked for the manifest in the
 * order their sessions open (an unreachable provider first in the list does not delay the
 * start); the first manifest that hashes to the content id wins. A provider whose
 * manifest does not match is a liar; when every provider failed and some only answered
 * BUSY, those are asked again after a back-off (BUSY_MAX_RETRIES rounds at most). When
 * every provider failed and `more` is given (a download through a master), the master is
 * asked for other providers, excluding every one tried (PROVIDER_ROUNDS times at most):
 * Sybil keys that fill a lookup answer cost a round each, not the download.
 */
import { manifestMatches, type Manifest } from '../../content/content-id.js'
import { FileShareError, toFileShareError } from '../../errors.js'
import { type FetchSession, isBusy, waitBusy } from '../../protocols/fetch/client.js'
import type { ProviderPool } from './provider-pool.js'
import type { ProviderRef } from './types.js'
import { BUSY_MAX_RETRIES, PROVIDER_ROUNDS } from './tuning.js'
import type { PeerId } from '@libp2p/interface'

export interface ManifestSource {
  provider: ProviderRef
  /** the session the manifest came over (the first worker goes on with it) */
  session: FetchSession
  manifest: Manifest
  /** the provider's name for the file */
  name: string
}

export async function fetchManifest (pool: ProviderPool, initial: ProviderRef[], id: Uint8Array, idText: string, signal?: AbortSignal,
  more?: (tried: PeerId[]) => Promise<ProviderRef[]>): Promise<ManifestSource> {
  const providers = [...initial]
  const tried = new Map<string, PeerId>(providers.map(p => [p.peer.toString(), p.peer]))
  for (const p of providers) pool.dialEarly(p)
  const remaining = new Set(providers)
  let busyRound = 0
  let lookups = 0
  for (;;) {
    const found = await fetchManifestFrom(pool, remaining, id)
    if (found != null) return found
    signal?.throwIfAborted()
    // every provider failed: others from the master first (excluding every one tried) …
    if (more != null && lookups < PROVIDER_ROUNDS) {
      lookups++
      const fresh = (await more([...tried.values()]).catch(() => [])).filter(p => !tried.has(p.peer.toString()) && !pool.isSelf(p))
      if (fresh.length > 0) {
        for (const p of fresh) {
          tried.set(p.peer.toString(), p.peer)
          providers.push(p)
          pool.dialEarly(p)
          remaining.add(p)
        }
        continue
      }
      lookups = PROVIDER_ROUNDS
    }
    // … then wait for those that were only BUSY, and ask them again
    const busy = providers.filter(p => pool.busy(p.peer.toString()) === busyRound + 1)
    if (busy.length === 0 || busyRound + 1 >= BUSY_MAX_RETRIES) break
    await waitBusy(busyRound + 1, signal)
    busyRound++
    for (const p of busy) {
      pool.dialEarly(p)
      remaining.add(p)
    }
  }
  throw new FileShareError(pool.liars.size > 0 && pool.liars.size === pool.droppedCount ? 'VERIFICATION_FAILED' : 'NO_PROVIDER',
    `no provider could send ${idText} (${pool.reasons()})`)
}

async function fetchManifestFrom (pool: ProviderPool, remaining: Set<ProviderRef>, id: Uint8Array): Promise<ManifestSource | null> {
  // providers whose session's connection closed under the manifest request (DCUtR or a
  // reversal replacing a relayed connection): asked once more, on the connection that replaced it
  const again = new Set<string>()
  while (remaining.size > 0) {
    const provider = await Promise.race([...remaining].map(async p => {
      await pool.settled(p)
      return p
    }))
    remaining.delete(provider)
    const peer = provider.peer.toString()
    let session: FetchSession | undefined
    try {
      session = again.has(peer) ? await pool.openSession(provider) : await pool.sessionFor(provider)
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
      if (session != null && pool.connectionGone(session) && !again.has(peer)) {
        again.add(peer)
        remaining.add(provider)
        continue
      }
      if (isBusy(err)) pool.noteBusy(peer)
      pool.drop(peer, toFileShareError(err, 'NETWORK').message)
    }
  }
  return null
}
