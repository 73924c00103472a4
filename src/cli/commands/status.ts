/**
 * `status` and `doctor`: a running peer seen through its web API (or its data folder), and
 * checks with a fix for each failure. The work is in ../status-command.ts, loaded by `run`.
 */
import { FileShareError } from '../../errors.js'
import { COMMON_PEER_OPTIONS, MASTER_ENV, type CommandSpec, type OptionSpec } from '../command.js'

const DATA: OptionSpec = { name: 'data', type: 'string', value: 'DIR', help: 'the running peer\'s data folder (where --web writes web.json)', default: '.fileshare/peer ("data" of the config)' }
const CONFIG_JSON = COMMON_PEER_OPTIONS.filter(o => o.name === 'config' || o.name === 'json')

export const statusCommand: CommandSpec = {
  name: 'status',
  summary: 'What a running peer shares, its uploads and downloads now and its reachability, through the HTTP API of a peer started with --web (its data folder holds the URL and token), else what its data folder tells.',
  options: [
    DATA,
    { name: 'url', type: 'string', value: 'URL', help: 'the peer\'s web API instead of the one recorded in the data folder (with --token)' },
    { name: 'token', type: 'string', value: 'TOKEN', help: 'the token for --url', default: '$FILESHARE_WEB_TOKEN' },
    ...CONFIG_JSON
  ],
  env: { FILESHARE_WEB_TOKEN: 'the token for --url' },
  examples: ['status', 'status --data ~/.fileshare/peer --json', 'status --url http://127.0.0.1:7777/ --token 3f9c…'],
  async run ({ values, positionals }, out) {
    if (positionals.length > 0) throw new FileShareError('USAGE', 'status takes no arguments; see status --help')
    const { runStatus } = await import('../status-command.js')
    return await runStatus(values, out)
  }
}

export const doctorCommand: CommandSpec = {
  name: 'doctor',
  summary: 'Checks, one line each with a fix when one fails: the master reachable, what the master sees of this peer (public, relayed), whether a relay slot is held, the share folder readable, the downloads and data folders writable, free space.',
  options: [
    { name: 'master', type: 'string', value: 'MA', help: 'the master\'s multiaddr, ending in /p2p/<PeerId>', default: 'the running peer\'s, then $FILESHARE_MASTER, then "master" of the config' },
    { name: 'share', type: 'string', value: 'DIR', help: 'the share folder to check', default: 'the running peer\'s' },
    { name: 'downloads', type: 'string', value: 'DIR', help: 'the downloads folder to check', default: 'the running peer\'s, then "downloads" of the config' },
    DATA,
    { name: 'url', type: 'string', value: 'URL', help: 'the running peer\'s web API (with --token)' },
    { name: 'token', type: 'string', value: 'TOKEN', help: 'the token for --url', default: '$FILESHARE_WEB_TOKEN' },
    ...CONFIG_JSON
  ],
  env: { ...MASTER_ENV, FILESHARE_WEB_TOKEN: 'the token for --url' },
  examples: ['doctor', 'doctor --share ~/Pictures --master /ip4/203.0.113.9/tcp/4001/p2p/12D3Koo…'],
  async run ({ values, positionals }, out) {
    if (positionals.length > 0) throw new FileShareError('USAGE', 'doctor takes no arguments; see doctor --help')
    await import('../../node/polyfill.js')
    const { runDoctor } = await import('../status-command.js')
    return await runDoctor(values, out)
  }
}
