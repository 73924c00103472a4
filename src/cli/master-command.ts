/**
 * The master program: `[--listen MA]... [--announce MA]... [--data DIR] [--config FILE] [--json]`.
 * Its option table is masterCommand.options; the master (libp2p, SQLite) is imported only
 * once the arguments are parsed.
 */
import { Output } from './output.js'
import { onShutdownSignal } from './args.js'
import { FileShareError } from '../errors.js'
import { loadConfig } from './config.js'
import { parseCommand, formatHelp, programName, version, TRANSPORT_OPTION, type CommandSpec } from './command.js'
import { checkMultiaddrs, transports, encrypters } from './validate.js'
import { MASTER_WEB_OPTIONS, webAddress, metricsAddress, DEFAULT_MASTER_WEB_PORT, webStartIfWanted, NO_WEB, type WebKeys } from './web-options.js'

export const masterCommand: CommandSpec = {
  name: '',
  summary: 'Runs a SwarmMaster: the index of who shares what (SQLite), name search and lookups, dial-back checks and a circuit relay for FileShare peers. Prints the addresses peers pass as --master, runs until Ctrl-C.',
  options: [
    { name: 'listen', type: 'string', multiple: true, value: 'MA', help: 'multiaddr to listen on', default: '/ip4/0.0.0.0/tcp/4001 and /ip4/0.0.0.0/udp/4001/quic-v1 ("listen" of config/master.json)' },
    { name: 'announce', type: 'string', multiple: true, value: 'MA', help: 'multiaddr to announce instead of the listen addresses (public address behind a port forward)', default: 'none' },
    { name: 'data', type: 'string', value: 'DIR', help: 'folder for the key (a stable PeerId) and the index (index.sqlite)', default: '.fileshare/master' },
    TRANSPORT_OPTION,
    { name: 'config', type: 'string', value: 'FILE', help: 'JSON file whose keys override config/master.json' },
    ...MASTER_WEB_OPTIONS,
    { name: 'json', type: 'boolean', help: 'JSON lines on stdout instead of text' },
    { name: 'version', short: 'V', type: 'boolean', help: 'print the version' }
  ],
  examples: [
    '--listen /ip4/0.0.0.0/tcp/4001 --data /var/lib/fileshare-master',
    '--listen /ip4/10.0.0.5/tcp/4001 --announce /ip4/203.0.113.9/tcp/4001',
    '--config master.json --json',
    '--web 127.0.0.1:7780 --metrics 127.0.0.1:9464'
  ],
  async run ({ values, positionals }, out) {
    if (positionals.length > 0) throw new FileShareError('USAGE', `unexpected argument ${JSON.stringify(positionals[0])}; see ${programName('master')} --help`)
    // listening before the start: a signal during it stops the master cleanly once it is up
    const shutdown = onShutdownSignal(new AbortController())
    const config = loadConfig('master', values.config, m => { out.warn(m) })
    await checkMultiaddrs(values.listen != null ? '--listen' : 'config key "listen"', values.listen ?? config.listen, 'optional')
    await checkMultiaddrs(values.announce != null ? '--announce' : 'config key "announce"', values.announce ?? config.announce, 'optional')
    const web = webAddress(values, config as WebKeys, DEFAULT_MASTER_WEB_PORT)
    const metricsAddr = metricsAddress(values, config as WebKeys)
    await import('../node/polyfill.js')
    const webStart = await webStartIfWanted(web, metricsAddr)
    webStart?.enableMetricsIfWanted(web, metricsAddr, 'master')
    const { createMaster } = await import('../master/master.js')
    const master = await createMaster({
      listen: values.listen ?? config.listen,
      announce: values.announce ?? config.announce,
      transports: transports(values.transport, config.transports),
      encrypters: encrypters(config.encrypters),
      data: values.data ?? config.data,
      relay: config.relay,
      providerGraceMs: config.providerGraceMs,
      maxFilesPerPeer: config.maxFilesPerPeer,
      maxConnections: config.maxConnections,
      requestTimeoutMs: config.requestTimeoutMs,
      requestsPerSecond: config.requestsPerSecond,
      requestBurst: config.requestBurst,
      dialBackPerIpPerMinute: config.dialBackPerIpPerMinute,
      maxRecords: config.maxRecords,
      maxRecordsPerIp: config.maxRecordsPerIp,
      maxIndexBytes: config.maxIndexBytes,
      pruneAfterMs: config.pruneAfterMs,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      connectionsPerIpPerSecond: config.connectionsPerIpPerSecond,
      idleConnectionMs: config.idleConnectionMs,
      reservationsPerIp: config.reservationsPerIp,
      requestsPerIpPerSecond: config.requestsPerIpPerSecond,
      requestBurstPerIp: config.requestBurstPerIp,
      indexMsPerIpPerSecond: config.indexMsPerIpPerSecond,
      indexBurstMsPerIp: config.indexBurstMsPerIp,
      indexDutyPercent: config.indexDutyPercent,
      refusalsBeforePause: config.refusalsBeforePause,
      refusalPauseMs: config.refusalPauseMs
    })
    const addrs = master.addrs()
    out.event('ready', { peerId: master.peerId, addrs }, `SwarmMaster ${master.peerId} ready; peers pass one of these as --master:\n${addrs.map(a => `  ${a}`).join('\n')}\nCtrl-C stops it.`)
    const closeWeb = webStart == null ? NO_WEB.close : await webStart.startMasterWebIfWanted(master, web, metricsAddr, config.relay?.maxReservations, out)
      .catch(async err => { await master.stop(); throw err })
    const signal = await shutdown
    await closeWeb()
    await master.stop()
    out.event('stopped', { signal }, `stopped (${signal})`)
    return 0
  }
}

export async function runMaster (argv: string[]): Promise<number> {
  const out = new Output(argv.includes('--json'))
  try {
    const program = programName('master')
    const args = parseCommand(masterCommand, argv, `${program} --help`)
    if (args.values.help === true) {
      process.stdout.write(formatHelp(program, masterCommand))
      return 0
    }
    if (args.values.version === true) {
      process.stdout.write(`fileshare ${version()}\n`)
      return 0
    }
    return await masterCommand.run(args, out)
  } catch (err) {
    return out.fail(err)
  }
}
