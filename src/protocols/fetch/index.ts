/**
 * /fileshare/fetch/1.0.0: manifests, chunks and name resolution, straight from a provider.
 *
 * Wire protocol (one stream per downloader and provider, many requests per stream):
 *   downloader → provider: FetchRequest frames (varint length + protobuf), pipelined.
 *   provider → downloader: for each request, in order, a FetchResponse frame followed by
 *     exactly `length` raw bytes: the encoded Manifest (MANIFEST), the chunk's bytes
 *     (CHUNK), an encoded NameMatches (RESOLVE) or an encoded FileList (LIST: one page of at
 *     most MAX_LIST_PAGE shared files from the `index`-th on, and how many there are in
 *     all; the downloader asks page after page). A non-OK status (NOT_FOUND, BAD_REQUEST,
 *     BUSY, ERROR, CHANGED) carries no payload. CHANGED: the provider's file changed on
 *     disk since it was hashed; it withdrew the id (a refusal, not a lie).
 * The provider serves only ids in its catalog; a downloader verifies the manifest against
 * the id and every chunk against the manifest, so a provider is never trusted. A stream
 * that sends no request, or whose reader takes no data, for STREAM_IDLE_TIMEOUT_MS is
 * closed. Answering a manifest or chunk request takes an upload slot (upload-slots.ts:
 * `maxUploads` in total, `maxUploadsPerPeer` per PeerId, `maxUploadsPerIp` per IP), held
 * while the stream's answers are being sent; a request that finds none gets BUSY, the
 * stream ends, and the downloader asks again later (BUSY_RETRY_MS, doubling up to
 * BUSY_RETRY_MAX_MS) or elsewhere.
 *
 * server.ts is the provider's half (a libp2p service: `fetchServer(init)` in
 * `createLibp2p({ services })`); client.ts the downloader's half (FetchSession, one per
 * stream, and FetchError with the BUSY helpers).
 */
import { FetchServer as FetchServerClass, type FetchServerInit } from './server.js'
import type { Startable } from '@libp2p/interface'
import type { ServerComponents } from '../components.js'
import type { UploadSlots } from './upload-slots.js'

export {
  PROTOCOL_FETCH, MAX_NAME_MATCHES, MAX_LIST_PAGE, STREAM_IDLE_TIMEOUT_MS, CHUNK_STALL_TIMEOUT_MS, DEFAULT_MAX_UPLOADS,
  DEFAULT_MAX_UPLOADS_PER_PEER, DEFAULT_MAX_UPLOADS_PER_IP, UPLOAD_SLOT_LINGER_MS, BUSY_RETRY_MS, BUSY_RETRY_MAX_MS
} from './constants.js'
export { UploadSlots, UploadSlot, ipKey, type UploadSlotLimits, type SlotRefusal } from './upload-slots.js'
export type { FetchServerInit, FetchCatalog, ServedContent, ServedSource } from './server.js'
export { FetchSession, FetchError, isBusy, isChanged, waitBusy, busyDelay, type PayloadSink } from './client.js'

/** A sharing peer's fetch service (stopped with the node). */
export interface FetchServer extends Startable {
  readonly protocol: string
  /** registers the protocol handler (when the node runs and it is not registered yet) */
  serve: () => Promise<void>
  readonly serving: boolean
  /** upload slots held right now */
  readonly activeUploads: number
  /** the upload slots (total, per PeerId, per IP) */
  readonly slots: UploadSlots
  /** bytes of chunk payload sent since start */
  readonly bytesServed: number
}

export function fetchServer (init: FetchServerInit): (components: ServerComponents) => FetchServer {
  return (components) => new FetchServerClass(components, init)
}
