/**
 * `peer.list()`: what one peer shares, asked of that peer itself with the fetch protocol's
 * LIST request, page after page (MAX_LIST_PAGE entries each). The peer is named by a full
 * multiaddr (no master needed) or by its PeerId (`12D3…` or `/p2p/12D3…`), whose current
 * addresses (relayed ones included) come from the master. Bounded: at most `limit` entries
 * are asked for, whatever total the peer claims, and an empty page ends the listing.
 */
import type { FileShareNode } from '../node/create-node.js'
import { FileShareError, toFileShareError } from '../errors.js'
import { formatContentId, ID_BYTES } from '../content/content-id.js'
import { baseName } from '../protocols/paths.js'
import { FetchSession, FetchError, isBusy, waitBusy } from '../protocols/fetch/client.js'
import { MAX_LIST_PAGE } from '../protocols/fetch/constants.js'
import { openFetchStream } from './download/dial.js'
import { BUSY_MAX_RETRIES } from './download/tuning.js'
import { resolveFromAddr, type GetContext } from './get.js'

/** Entries a listing returns unless told otherwise, and at most. */
export const DEFAULT_LIST_LIMIT = 10_000
export const MAX_LIST_LIMIT = 100_000

export interface ListOptions {
  /** at most this many entries (1 … MAX_LIST_LIMIT) @default 10000 */
  limit?: number
  signal?: AbortSignal
}

export interface ListedFile {
  id: string
  /** file name (the last part of `path`) */
  name: string
  /** path in the peer's share */
  path: string
  size: number
}

export interface Listing {
  /** the PeerId listed */
  peer: string
  files: ListedFile[]
  /** how many files the peer says it shares */
  total: number
  /** fewer files listed than the peer shares (`limit` reached, or files added during the listing before the last page's path) */
  truncated: boolean
}

export async function listPeer (ctx: Pick<GetContext, 'node' | 'requireMaster'>, target: string, options: ListOptions = {}): Promise<Listing> {
  const limit = Math.max(1, Math.min(options.limit ?? DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT))
  const provider = await resolveFromAddr(ctx, target, 'ls')
  for (let attempt = 1; ; attempt++) {
    try {
      return await listOnce(ctx.node, provider, limit, options.signal)
    } catch (err: any) {
      if (!isBusy(err?.cause ?? err) || attempt >= BUSY_MAX_RETRIES) throw toFileShareError(err, 'NETWORK')
      await waitBusy(attempt, options.signal)
    }
  }
}

async function listOnce (node: FileShareNode, provider: Awaited<ReturnType<typeof resolveFromAddr>>, limit: number, signal?: AbortSignal): Promise<Listing> {
  let session: FetchSession | null = null
  const files: ListedFile[] = []
  let total = 0
  try {
    const { stream } = await openFetchStream(node, provider, signal)
    session = new FetchSession(stream)
    while (files.length < limit) {
      if (signal?.aborted === true) throw new FileShareError('ABORTED', 'listing aborted')
      const page = await session.list(files.length, files.at(-1)?.path)
      total = page.total
      for (const f of page.files.slice(0, limit - files.length)) {
        if (f.id.length !== ID_BYTES) continue // not a content id: a broken or hostile peer
        files.push({ id: formatContentId(f.id), name: baseName(f.path), path: f.path, size: f.size })
      }
      if (page.files.length === 0 || page.files.length < MAX_LIST_PAGE || files.length >= total) break
    }
  } catch (err: any) {
    // a peer without LIST (an older FileShare) answers NOT_FOUND or BAD_REQUEST
    if (err instanceof FetchError && !isBusy(err)) throw new FileShareError('PROTOCOL', `${provider.peer.toString()} cannot list its files (${err.message}); an older FileShare peer?`, { cause: err })
    throw toFileShareError(err, 'NETWORK')
  } finally {
    await session?.close()
  }
  return { peer: provider.peer.toString(), files, total, truncated: files.length < total }
}
