/**
 * Wire bounds every FileShare protocol shares. Each protocol's own id and bounds sit in
 * its folder's constants.ts.
 */

/** Largest control frame (requests and response headers) on any stream. */
export const MAX_CONTROL_FRAME = 64 * 1024
/** Request/response protocols (register, lookup, dialback) must complete within this time. */
export const REQUEST_TIMEOUT_MS = 15_000
/** Inbound streams per connection and protocol. */
export const MAX_INBOUND_STREAMS = 32
/** A relative path on the wire (see paths.ts), and one segment of it. */
export const MAX_PATH_LENGTH = 1024
export const MAX_NAME_LENGTH = 255
