/**
 * `--share PATH...`: the sharing peer (the default command of the peer program).
 */
import { FileShareError } from '../../errors.js'
import { COMMON_PEER_OPTIONS, MASTER_ENV, type CommandSpec, type OptionSpec } from '../command.js'
import { loadConfig } from '../config.js'
import { printable } from '../printable.js'
import { wholeNumber, rate } from '../validate.js'
import { onShutdownSignal } from '../args.js'
import { PEER_WEB_OPTIONS, webAddress, metricsAddress, webStartIfWanted, NO_WEB, type WebKeys } from '../web-options.js'

/** Options of a peer that serves (a sharing peer; get --seed takes them too). */
export const SERVING_OPTIONS: OptionSpec[] = [
  { name: 'announce', type: 'string', multiple: true, value: 'MA', help: 'multiaddr to announce instead of all others (public address behind a port forward)', default: 'none ("announce" of the config)' },
  { name: 'max-uploads', type: 'string', value: 'N', help: 'fetch streams served at once; one more gets BUSY', default: '32 ("maxUploads")' },
  { name: 'max-upload-rate', type: 'string', value: 'RATE', help: 'upload bytes per second in total, e.g. 500K, 2M; 0 = unlimited', default: 'unlimited ("maxUploadRate")' }
]

export const shareCommand: CommandSpec = {
  name: '',
  args: '--share PATH [--share PATH]...',
  summary: 'Shares folders and files: hashes them (cached across restarts), registers them with the master, serves them to other peers and follows changes until Ctrl-C.',
  notes: [
    'With one --share folder, shared names are paths inside it; a single file is shared under its file name. With several --share, every name starts with the base name of its root (Pictures/beach.jpg, notes.txt); two roots with the same base name get -2, -3 ….',
    'Other commands: search, get, ls (see COMMAND --help).'
  ],
  options: [
    { name: 'share', type: 'string', multiple: true, value: 'PATH', help: 'folder (recursively) or file to share', default: 'required' },
    { name: 'master', type: 'string', value: 'MA', help: 'the master\'s multiaddr, ending in /p2p/<PeerId>', default: '$FILESHARE_MASTER, then "master" of the config' },
    { name: 'listen', type: 'string', multiple: true, value: 'MA', help: 'multiaddr to listen on', default: '/ip4/0.0.0.0/tcp/0 and /ip4/0.0.0.0/udp/0/quic-v1 ("listen" of the config)' },
    ...SERVING_OPTIONS,
    { name: 'data', type: 'string', value: 'DIR', help: 'folder for the key (a stable PeerId) and the hash cache; never shared', default: '.fileshare/peer ("data")' },
    ...PEER_WEB_OPTIONS,
    ...COMMON_PEER_OPTIONS.filter(o => o.name === 'config' || o.name === 'json' || o.name === 'transport')
  ],
  env: MASTER_ENV,
  examples: [
    '--share ~/Pictures',
    '--share ~/Pictures --share ~/notes.txt --data ~/.fileshare/peer',
    '--share /srv/files --listen /ip4/0.0.0.0/tcp/4002 --max-upload-rate 2M --json',
    '--share ~/Pictures --web --downloads ~/Downloads/FileShare'
  ],
  async run ({ values, positionals }, out) {
    if (positionals.length > 0) throw new FileShareError('USAGE', `unexpected argument ${JSON.stringify(positionals[0])}; see --help`)
    const roots: string[] = values.share ?? []
    if (roots.length === 0) throw new FileShareError('USAGE', 'nothing to do: pass --share PATH, or a command (search, get, ls); see --help')
    const maxUploads = wholeNumber('--max-uploads', values['max-uploads'])
    rate('--max-upload-rate', values['max-upload-rate'])
    const controller = new AbortController()
    const shutdown = onShutdownSignal(controller)
    const config = loadConfig('peer', values.config, m => { out.warn(m) })
    const web = webAddress(values, config as WebKeys)
    const metricsAddr = metricsAddress(values, config as WebKeys)
    const webStart = await webStartIfWanted(web, metricsAddr)
    webStart?.enableMetricsIfWanted(web, metricsAddr, 'peer')
    const { createPeer, peerOptions, checkPeerAddresses, reportReachabilityChanges, describeReachability } = await import('./session.js')
    await checkPeerAddresses(config, values, { listen: true, announce: true })
    const { REACHABILITY_SETTLE_MS } = await import('../../peer/tuning.js')
    const peer = await createPeer({
      ...peerOptions(config, values),
      share: roots,
      listen: values.listen ?? config.listen,
      maxUploads: maxUploads ?? config.maxUploads,
      data: values.data ?? config.data,
      onWarning: message => { out.warn(message) }
    })
    if (peer.master == null) out.warn('no master configured: serving only peers that know this address')
    const unreadable = peer.shareStats()?.unreadable
    if (unreadable != null && unreadable.count > 0) {
      out.warn(`skipped ${unreadable.count} unreadable ${unreadable.count === 1 ? 'entry' : 'entries'} (permission denied): ${unreadable.paths.join(', ')}${unreadable.count > unreadable.paths.length ? ', …' : ''}`)
    }
    // a verdict (public, or relayed through the master) first, unless it takes too long
    const reach = await Promise.race([peer.reachabilitySettled(REACHABILITY_SETTLE_MS), shutdown.then(() => peer.reachability())])
    const addrs = peer.addrs()
    const files = peer.catalog.size
    out.event('ready', { peerId: peer.peerId, addrs, files, master: peer.master?.addr.toString() ?? null, reachability: reach.reachability, reachableAddrs: reach.addrs },
      [
        `peer ${peer.peerId} sharing ${files} ${files === 1 ? 'file' : 'files'} from ${roots.map(printable).join(', ')}`,
        'reachable at:',
        ...addrs.map(a => `  ${a}`),
        `reachability: ${describeReachability(reach)}`,
        peer.master != null
          ? (peer.registered() ? 'ready: the master lists these files; Ctrl-C stops sharing' : 'ready: serving; the master has not accepted the files yet (retrying); Ctrl-C stops sharing')
          : 'ready: serving; Ctrl-C stops sharing'
      ].join('\n'))
    reportReachabilityChanges(peer, out)
    const webServices = webStart == null ? NO_WEB : await webStart.startPeerWebIfWanted(peer, web, metricsAddr, {
      downloads: values.downloads ?? (config as WebKeys).downloads ?? '.fileshare/downloads',
      share: roots.length === 1 ? roots[0] : roots.join(', '),
      data: values.data ?? config.data
    }, out).catch(async err => { await peer.stop(); throw err })
    const signal = await shutdown
    await webServices.close()
    await peer.stop()
    out.event('stopped', { signal }, `stopped (${signal})`)
    return 0
  }
}
