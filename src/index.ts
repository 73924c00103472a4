/**
 * FileShare as a library: `createMaster` and `createPeer` script whole swarms in one
 * process (the tests do). Importing this module installs the Node 20 polyfill first.
 */
import './node/polyfill.js'

export { createMaster, type Master, type MasterOptions } from './master/master.js'
export { createPeer, type Peer, type PeerOptions, type GetOptions } from './peer/peer.js'
export type { SearchResult } from './peer/master-client.js'
export { download } from './peer/download/download.js'
export type { DownloadResult, DownloadOptions, ProviderRef } from './peer/download/types.js'
export type { DownloadEvent, ProviderStats } from './peer/download/progress.js'
export { FileShareError, type ErrorCode } from './errors.js'
export { formatContentId, parseContentId, isContentId } from './content/content-id.js'
export { hashFile } from './content/hash-file.js'
export * as limits from './protocol/limits.js'
export * as tuning from './peer/download/tuning.js'
