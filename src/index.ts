/**
 * FileShare as a library: `createMaster` and `createPeer` script whole swarms in one
 * process (the tests do). Importing this module installs the Node 20 polyfill first.
 */
import './node/polyfill.js'

export { createMaster, type Master, type MasterOptions } from './master/master.js'
export { createPeer, FileSharePeer, type Peer, type PeerOptions, type GetOptions } from './peer/peer.js'
export { MASTER_DEFAULTS, PEER_DEFAULTS } from './defaults.js'
export type { SearchResult } from './peer/master-client.js'
export { download, type DownloadEvent, type DownloadResult, type DownloadOptions, type ProviderStats, type ProviderRef } from './peer/download/download.js'
export { FileShareError, LIBP2P_ERROR_CODES, type ErrorCode } from './errors.js'
export { formatContentId, parseContentId, isContentId } from './content/content-id.js'
export { hashFile } from './content/hash-file.js'
export * as limits from './protocol/limits.js'
