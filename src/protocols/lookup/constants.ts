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
/** Providers in an answer whose request names no limit (and what a download asks for each time). */
export const DEFAULT_PROVIDERS_RETURNED = 20
/** Wire bound on the addresses of one peer in an answer (what a client accepts). */
export const MAX_ADDRS_PER_PEER = 16
/**
 * Addresses of its own a provider is listed with: only ones the master verified (dial-back)
 * or observed (at the IP the provider's connection comes from), so a lookup never sends
 * downloaders to a third host; relay addresses through the master come on top.
 */
export const MAX_ADDRS_RETURNED = 4
/** PeerIds a PROVIDERS request may exclude (providers the asker already tried). */
export const MAX_EXCLUDED = 512
