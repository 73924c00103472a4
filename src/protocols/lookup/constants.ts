/**
 * /fileshare/lookup/1.0.0: protocol id and wire bounds.
 */

export const PROTOCOL_LOOKUP = '/fileshare/lookup/1.0.0'
/** Largest lookup response (search hits, provider lists). */
export const MAX_LOOKUP_RESPONSE = 1024 * 1024
export const MAX_QUERY_LENGTH = 256
export const MAX_SEARCH_RESULTS = 100
/** Results of a search that names no limit. */
export const DEFAULT_SEARCH_RESULTS = 50
export const MAX_PROVIDERS_RETURNED = 50
export const MAX_ADDRS_PER_PEER = 16
