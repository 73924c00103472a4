/**
 * FileShare as a library: `createMaster` and `createPeer` script whole swarms in one
 * process (the tests do). Importing this module installs the Node 20 polyfill first.
 */
import './node/polyfill.js'
import { CHUNK_SIZE, MAX_FILE_SIZE } from './content/constants.js'
import { MAX_SEARCH_RESULTS, PROTOCOL_LOOKUP } from './protocols/lookup/constants.js'
import { PROTOCOL_REGISTER } from './protocols/register/constants.js'
import { PROTOCOL_FETCH } from './protocols/fetch/constants.js'
import { PROTOCOL_DIALBACK } from './protocols/dialback/constants.js'

export { createMaster, type Master, type MasterOptions } from './master/master.js'
export { createPeer, FileSharePeer, type Peer, type PeerOptions, type GetOptions, type ListOptions, type Listing, type ListedFile } from './peer/peer.js'
export { MASTER_DEFAULTS, PEER_DEFAULTS, type MasterDefaults, type PeerDefaults } from './defaults.js'
export type { SearchResult } from './protocols/lookup/index.js'
export { download } from './peer/download/download.js'
export type { DownloadResult, DownloadOptions, ProviderRef } from './peer/download/types.js'
export type { DownloadEvent, ProviderStats } from './peer/download/progress.js'
export { FileShareError, LIBP2P_ERROR_CODES, type ErrorCode } from './errors.js'
export { formatContentId, parseContentId, isContentId } from './content/content-id.js'
export { hashFile } from './content/hash-file.js'
export type { Reachability, ReachabilityMode, ReachabilityState } from './types.js'

/**
 * What a library user may need to know of the wire: the chunk size and file size bound
 * of the content ids, the protocol ids (to dial or filter them), and how many search
 * results a master returns at most. Every other bound and all tuning are internal
 * (src/protocols/<name>/constants.ts, src/master/tuning.ts, src/peer/…/tuning.ts).
 */
export const limits = {
  CHUNK_SIZE,
  MAX_FILE_SIZE,
  MAX_SEARCH_RESULTS,
  PROTOCOL_REGISTER,
  PROTOCOL_LOOKUP,
  PROTOCOL_FETCH,
  PROTOCOL_DIALBACK
} as const
