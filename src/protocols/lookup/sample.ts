/**
 * Which providers of a content id a PROVIDERS answer lists: a varied sample, so that keys
 * minted by the hundred cannot fill every answer with providers nobody can reach.
 *
 * 1. Tiers: providers whose addresses the master verified (a dial-back reached them, or
 *    they hold a relay slot here) first, then providers that are connected to the master
 *    and announce an address at the IP the master sees them at, then connected providers
 *    with no usable address, then the rest.
 * 2. Inside a tier the sample is spread over IP prefixes (/24 for IPv4, /48 for IPv6, as
 *    the master sees the provider's connection): one provider per prefix in turn, so one
 *    host or subnet holding many keys gets no more room than one holding one key.
 * 3. Inside a prefix the order is random, weighted towards providers live for longer (a
 *    key minted a moment ago is worth less than one that has served for an hour).
 */

export interface RankedProvider {
  peer: string
  /** 0 verified, 1 observed address, 2 connected without address, 3 unknown */
  tier: number
  /** the IP prefix the master sees the provider at ('' when it has no connection) */
  prefix: string
  /** how long it has been live, ms */
  ageMs: number
}

/** Live time after which a provider counts as fully established (the age bonus stops growing). */
const AGE_FULL_MS = 10 * 60_000
/** How much an established provider's sort key shrinks (0.75: it comes first 4 times as often as a fresh one). */
const AGE_WEIGHT = 0.75

/** Up to `limit` of `providers`, best tiers first, spread over prefixes, long-lived ones favoured. */
export function sampleProviders (providers: RankedProvider[], limit: number, random: () => number = Math.random): RankedProvider[] {
  const tiers = new Map<number, RankedProvider[]>()
  for (const p of providers) {
    const list = tiers.get(p.tier) ?? []
    list.push(p)
    tiers.set(p.tier, list)
  }
  const out: RankedProvider[] = []
  for (const tier of [...tiers.keys()].sort((a, b) => a - b)) {
    if (out.length >= limit) break
    out.push(...spread(tiers.get(tier)!, limit - out.length, random))
  }
  return out
}

/** Round-robin over prefixes (in a random order), each prefix's providers by weighted random order. */
function spread (list: RankedProvider[], limit: number, random: () => number): RankedProvider[] {
  const byPrefix = new Map<string, Array<{ p: RankedProvider, key: number }>>()
  for (const p of list) {
    // a provider with no connection has no known prefix: each is its own group
    const group = p.prefix !== '' ? p.prefix : `?${p.peer}`
    const entries = byPrefix.get(group) ?? []
    // weighted random order: smaller keys first; age up to AGE_FULL_MS shrinks the key
    const age = Math.min(1, Math.max(0, p.ageMs) / AGE_FULL_MS)
    entries.push({ p, key: random() * (1 - age * AGE_WEIGHT) })
    byPrefix.set(group, entries)
  }
  const groups = [...byPrefix.values()].map(g => g.sort((a, b) => a.key - b.key))
  // prefixes in a random order, weighted the same way by their best provider
  const order = groups.map(g => ({ g, key: g[0].key * random() })).sort((a, b) => a.key - b.key).map(x => x.g)
  const out: RankedProvider[] = []
  for (let round = 0; out.length < limit; round++) {
    let any = false
    for (const g of order) {
      if (round < g.length) {
        any = true
        out.push(g[round].p)
        if (out.length >= limit) break
      }
    }
    if (!any) break
  }
  return out
}

/** The /24 (IPv4) or /48 (IPv6) an address belongs to: hosts in one subnet share it. */
export function ipPrefix (ip: string): string {
  if (ip.includes(':')) return ip.toLowerCase().split(':').slice(0, 3).join(':') + '::/48'
  return ip.split('.').slice(0, 3).join('.') + '.0/24'
}
