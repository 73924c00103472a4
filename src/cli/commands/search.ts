/**
 * `search WORDS...`: names matching every word (prefixes, case-insensitive), best-provided first.
 */
import { FileShareError } from '../../errors.js'
import { COMMON_PEER_OPTIONS, MASTER_ENV, type CommandSpec } from '../command.js'
import { loadConfig } from '../config.js'
import { formatBytes } from '../output.js'
import { printable } from '../printable.js'
import { wholeNumber } from '../validate.js'

/** The lookup protocol's cap on results. */
export const SEARCH_MAX_LIMIT = 100

export const searchCommand: CommandSpec = {
  name: 'search',
  args: 'WORDS...',
  summary: 'Searches the master\'s index: every word must match a word (or its start) of a file\'s name or folder path, case-insensitively. Prints id, size, live providers and path per match, best-provided first. No match exits 1 (NOT_FOUND).',
  options: [
    ...COMMON_PEER_OPTIONS,
    { name: 'limit', type: 'string', value: 'N', help: `at most N results, 1 to ${SEARCH_MAX_LIMIT}`, default: String(SEARCH_MAX_LIMIT) }
  ],
  env: MASTER_ENV,
  examples: [
    'search holiday beach',
    'search holi --limit 10 --master /ip4/192.0.2.1/tcp/4001/p2p/12D3Koo…',
    'search report 2025 --json'
  ],
  async run ({ values, positionals }, out) {
    if (positionals.length === 0) throw new FileShareError('USAGE', 'search needs one or more WORDS; see search --help')
    const limit = wholeNumber('--limit', values.limit, 1, SEARCH_MAX_LIMIT)
    const config = loadConfig('peer', values.config, m => { out.warn(m) })
    const { withClient, checkPeerAddresses } = await import('./session.js')
    await checkPeerAddresses(config, values, {})
    return await withClient(config, values, {}, out, async peer => {
      const query = positionals.join(' ')
      const results = await peer.search(query, { limit })
      if (results.length === 0) throw new FileShareError('NOT_FOUND', `no shared file matches ${JSON.stringify(query)}`)
      for (const r of results) {
        out.event('result', { id: r.id, name: r.name, path: r.path, size: r.size, providers: r.providers, seeders: r.seeders },
          `${r.id}  ${formatBytes(r.size).padStart(10)}  ${String(r.providers).padStart(3)} provider(s)${r.providers > r.seeders ? ` (${r.providers - r.seeders} partial)` : ''}  ${printable(r.path)}`)
      }
      return 0
    })
  }
}
