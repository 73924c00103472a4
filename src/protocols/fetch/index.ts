/**
 * /fileshare/fetch/1.0.0: manifests, chunks and name resolution, straight from a provider.
 *
 * Wire protocol (one stream per downloader and provider, many requests per stream):
 *   downloader → provider: FetchRequest frames (varint length + protobuf), pipelined.
 *   provider → downloader: for each request, in order, a FetchResponse frame followed by
 *     exactly `length` raw bytes: the encoded Manifest (MANIFEST), the chunk's bytes
 *     (CHUNK), a have-bitfield (HAVE), an encoded NameMatches (RESOLVE) or an encoded FileList (LIST: one page of at
 *     most MAX_LIST_PAGE shared files in path order, after the path `name` (the last of the
 *     previous page: files added or removed meanwhile shift nothing), or from the `index`-th
 *     on without one, and how many there are in all; the downloader asks page after page). A non-OK status (NOT_FOUND, BAD_REQUEST,
 *     BUSY, ERROR, CHANGED) carries no payload. CHANGED: the provider's file changed on
 *     disk since it was hashed; it withdrew the id (a refusal, not a lie).
 * Partial providers (swarming): a downloader serves the chunks it has verified while it
 *   downloads. The master's lookup marks such providers partial; a downloader asks them
 *   HAVE once: the answer is a bitfield of ceil(chunks / 8) bytes (bit i = bit 7 - i % 8
 *   of byte i / 8, spare bits 0), or length 0 when the copy is complete by now. From then
 *   on the provider sends, between its answers and unasked, frames with status HAVE (no
 *   payload) listing chunk indexes it verified since (at most MAX_HAVES_PER_FRAME each),
 *   like BitTorrent's `have`. It answers CHUNK only for chunks it holds (else NOT_FOUND).
 *   A bitfield of another size or with spare bits set, or a HAVE past the last chunk,
 *   ends the session (the provider is dropped). A downloader with nothing to ask repeats
 *   HAVE every HAVE_KEEPALIVE_MS, which resynchronises it and keeps the stream from the
 *   idle timeout. Compatibility: only providers marked partial are asked HAVE (they run
 *   this code); older downloaders never ask and never see a HAVE frame, so the protocol
 *   id stays 1.0.0.
 * The provider serves only ids in its catalog; a downloader verifies the manifest against
 * the id and every chunk against the manifest, so a provider is never trusted. A stream
 * that sends no request, or whose reader takes no data, for STREAM_IDLE_TIMEOUT_MS is
 * closed. Answering a manifest or chunk request takes an upload slot (upload-slots.ts:
 * `maxUploads` in total, `maxUploadsPerPeer` per PeerId, `maxUploadsPerIp` per IP), held
 * while the stream's answers are being sent; a request that finds none gets BUSY, the
 * stream ends, and the downloader asks again later (BUSY_RETRY_MS, doubling up to
 * BUSY_RETRY_MAX_MS) or elsewhere. Fair upload (choker.ts): with every slot taken, a peer
 * with upload credit (chunk bytes our downloads verified from it lately, `earn`) takes the
 * slot of the holder that gives least, whose stream answers its next request BUSY and
 * ends; one optimistic slot rotates to a newcomer every OPTIMISTIC_SLOT_MS.
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
  DEFAULT_MAX_UPLOADS_PER_PEER, DEFAULT_MAX_UPLOADS_PER_IP, UPLOAD_SLOT_LINGER_MS, BUSY_RETRY_MS, BUSY_RETRY_MAX_MS,
  MAX_HAVE_SUBSCRIPTIONS, MAX_HAVES_PER_FRAME, HAVE_KEEPALIVE_MS
} from './constants.js'
export { UploadSlots, UploadSlot, ipKey, type UploadSlotLimits, type SlotRefusal, type Admission } from './upload-slots.js'
export { Choker, UploadCredit, OPTIMISTIC_SLOT_MS, CREDIT_HALF_LIFE_MS } from './choker.js'
export { packBitfield, type FetchServerInit, type FetchCatalog, type ServedContent, type ServedSource } from './server.js'
export { FetchSession, FetchError, isBusy, isChanged, waitBusy, busyDelay, unpackBitfield, type PayloadSink } from './client.js'

/** A sharing peer's fetch service (stopped with the node). */
export interface FetchServer extends Startable {
  readonly protocol: string
  /** registers the protocol handler (when the node runs and it is not registered yet) */
  serve: () => Promise<void>
  readonly serving: boolean
  /** upload slots held right now */
  readonly activeUploads: number
  /** the upload slots (total, per PeerId, per IP; tit-for-tat when all are taken) */
  readonly slots: UploadSlots
  /** our download verified `bytes` of chunks from `peer`: its upload credit here (fair upload) */
  earn: (peer: string, bytes: number) => void
  /** `peer`'s upload credit now */
  creditOf: (peer: string) => number
  /** bytes of chunk payload sent since start */
  readonly bytesServed: number
}

export function fetchServer (init: FetchServerInit): (components: ServerComponents) => FetchServer {
  return (components) => new FetchServerClass(components, init)
}
