// A deterministic vocabulary for master-load: 4 096 pronounceable words.
const C = ['b', 'c', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'sh']
const V = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'y']
export function word (k) {
  const x = (k * 2654435761) >>> 0
  return C[x & 15] + V[(x >> 4) & 7] + C[(x >> 7) & 15] + V[(x >> 11) & 7] + (((x >> 14) & 1) === 1 ? C[(x >> 15) & 15] : '')
}
/** ids every peer of a worker shares (many providers per id) */
export const COMMON_IDS = 10
