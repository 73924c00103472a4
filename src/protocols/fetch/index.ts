/**
 * /fileshare/fetch/1.0.0: manifests, chunks and name resolution, straight from a provider.
 *
 * Wire protocol (one stream per downloader and provider, many requests per stream):
 *   downloader → provider: FetchRequest frames (varint length + protobuf), pipelined.
 *   provider → downloader: for each request, in order, a FetchResponse frame followed by
 *     exactly `length` raw bytes: the encoded Manifest (MANIFEST), the chunk's bytes
 *     (CHUNK) or an encoded NameMatches (RESOLVE). A non-OK status (NOT_FOUND, BAD_REQUEST,
 *     BUSY, ERROR) carries no payload.
 * The provider serves only ids in its catalog; a downloader verifies the manifest against
 * the id and every chunk against the manifest, so a provider is never trusted. A stream
 * that sends no request for STREAM_IDLE_TIMEOUT_MS is closed; when more than `maxUploads`
 * streams are active the first request gets BUSY, and the downloader asks again later
 * (BUSY_RETRY_MS, doubling up to BUSY_RETRY_MAX_MS) or elsewhere.
 *
 * server.ts is the provider's half (a libp2p service: `fetchServer(init)` in
 * `createLibp2p({ services })`); client.ts the downloader's half (FetchSession, one per
 * stream, and FetchError with the BUSY helpers).
 */
import { FetchServer as FetchServerClass, type FetchServerInit } from './server.js'
import type { Startable } from '@libp2p/interface'
import type { ServerComponents } from '../components.js'

export {
  PROTOCOL_FETCH, MAX_NAME_MATCHES, STREAM_IDLE_TIMEOUT_MS, CHUNK_STALL_TIMEOUT_MS, DEFAULT_MAX_UPLOADS,
  BUSY_RETRY_MS, BUSY_RETRY_MAX_MS
} from './constants.js'
export type { FetchServerInit, FetchCatalog, ServedContent } from './server.js'
export { FetchSession, FetchError, isBusy, waitBusy, busyDelay, type PayloadSink } from './client.js'

/** A sharing peer's fetch service (stopped with the node). */
export interface FetchServer extends Startable {
  readonly protocol: string
  /** registers the protocol handler (when the node runs and it is not registered yet) */
  serve: () => Promise<void>
  readonly serving: boolean
  readonly activeUploads: number
  /** bytes of chunk payload sent since start */
  readonly bytesServed: number
}

export function fetchServer (init: FetchServerInit): (components: ServerComponents) => FetchServer {
  return (components) => new FetchServerClass(components, init)
}
