/**
 * Small types shared across layers (the library's options, the config files, the peer's
 * reachability manager), kept here so that no low module imports a high one.
 */

/**
 * 'unknown': not determined yet (master not reached); 'public': the master reached us on a
 * new connection; 'private': not public and no relay reservation (yet); 'relayed': not
 * public, reachable through the master's relay.
 */
export type Reachability = 'unknown' | 'public' | 'private' | 'relayed'

/** 'auto' (dial-back check, relay reservation when not public), 'public' (never reserve) or 'relayed' (always). */
export type ReachabilityMode = 'auto' | 'public' | 'relayed'

export interface ReachabilityState {
  reachability: Reachability
  /** addresses other peers can use: the ones the master reached, or the relay addresses */
  addrs: string[]
}
