/**
 * The seeders' work split over a swarm (download.ts, 6b): which chunks this download asks
 * complete providers for. Every chunk belongs to exactly one member, shares differ by at
 * most one chunk, and members that know the same swarm compute the same split, whatever
 * order they learned of each other in: the chunks are put in an order that depends on the
 * chunk index alone (a hash) and dealt out in turn to the members sorted by PeerId.
 *
 * Equal shares matter: a seeder's upload is shared by the members still fetching their
 * share, and when only a few are left, their connections alone do not fill it (in the
 * flash-crowd bench one connection through a full uplink carried ≈ 1.4 of 4.8 MiB/s).
 */

/** One byte per chunk, 1 = `self`'s share among `self` and `others`. */
export function swarmShare (self: string, others: Iterable<string>, total: number): Uint8Array {
  const members = [...new Set([self, ...others])].sort()
  const rank = members.indexOf(self)
  const order = Array.from({ length: total }, (_, c) => c).sort((a, b) => mix32(a) - mix32(b) || a - b)
  const mine = new Uint8Array(total)
  for (let k = rank; k < total; k += members.length) mine[order[k]] = 1
  return mine
}

/** A 32-bit integer mix (murmur3's finaliser) of a chunk index. */
function mix32 (c: number): number {
  let x = Math.imul(c + 1, 0x9e3779b1)
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}
