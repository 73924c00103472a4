/**
 * `ls PEER`: what one peer shares, asked of that peer (the fetch protocol's paged LIST).
 */
import { FileShareError } from '../../errors.js'
import { COMMON_PEER_OPTIONS, MASTER_ENV, type CommandSpec } from '../command.js'
import { loadConfig } from '../config.js'
import { formatBytes } from '../output.js'
import { printable } from '../printable.js'
import { wholeNumber, checkMultiaddr } from '../validate.js'

/** Mirrors src/peer/list.ts (not imported here: this module loads no libp2p). */
const LS_DEFAULT_LIMIT = 10_000
const LS_MAX_LIMIT = 100_000

export const lsCommand: CommandSpec = {
  name: 'ls',
  args: 'PEER',
  summary: 'Lists what one peer shares: id, size and path of every file, asked of the peer itself. PEER is a multiaddr ending in /p2p/<PeerId> (no master needed), or a PeerId (12D3Koo… or /p2p/12D3Koo…) whose current addresses come from the master.',
  options: [
    ...COMMON_PEER_OPTIONS,
    { name: 'limit', type: 'string', value: 'N', help: `at most N files, 1 to ${LS_MAX_LIMIT}`, default: String(LS_DEFAULT_LIMIT) }
  ],
  env: MASTER_ENV,
  examples: [
    'ls 12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
    'ls /ip4/192.0.2.7/tcp/4002/p2p/12D3Koo… --json'
  ],
  async run ({ values, positionals }, out) {
    if (positionals.length !== 1) throw new FileShareError('USAGE', `ls needs one PEER (a PeerId or a multiaddr ending in /p2p/<PeerId>)${positionals.length > 1 ? `, got ${positionals.length}` : ''}; see ls --help`)
    const target = positionals[0]
    const limit = wholeNumber('--limit', values.limit, 1, LS_MAX_LIMIT) ?? LS_DEFAULT_LIMIT
    const byAddress = target.startsWith('/') && !/^\/p2p\/[^/]+$/.test(target)
    await checkMultiaddr('PEER', target.startsWith('/') ? target : `/p2p/${target}`, 'required')
    const config = loadConfig('peer', values.config, m => { out.warn(m) })
    const { withClient, checkPeerAddresses } = await import('./session.js')
    await checkPeerAddresses(config, values, {})
    return await withClient(config, values, {}, out, async peer => {
      const listing = await peer.list(target, { limit })
      for (const f of listing.files) {
        out.event('file', { peer: listing.peer, id: f.id, name: f.name, path: f.path, size: f.size },
          `${f.id}  ${formatBytes(f.size).padStart(10)}  ${printable(f.path)}`)
      }
      const more = listing.truncated ? ` (of ${listing.total}; --limit or a change while listing)` : ''
      out.event('listed', { peer: listing.peer, files: listing.files.length, total: listing.total, truncated: listing.truncated },
        `${listing.peer} shares ${listing.total} ${listing.total === 1 ? 'file' : 'files'}${listing.truncated ? `; ${listing.files.length} listed${more}` : ''}`)
      return 0
    }, values.master != null || !byAddress)
  }
}
