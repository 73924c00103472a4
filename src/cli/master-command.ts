/**
 * `node dist/master.js [--listen MA]... [--announce MA]... [--transport tcp,quic] [--data DIR] [--config FILE] [--json]`
 */
import { createMaster } from '../master/master.js'
import { Output } from './output.js'
import { parse, onShutdownSignal, transportsOption } from './args.js'
import { FileShareError } from '../errors.js'
import { loadConfig } from './config.js'

export const MASTER_USAGE = `usage: node dist/master.js [--listen MA]... [--announce MA]... [--transport tcp,quic] [--data DIR] [--config FILE] [--json]`

export async function runMaster (argv: string[]): Promise<number> {
  const json = argv.includes('--json')
  const out = new Output(json)
  try {
    const { values, positionals } = parse(argv, {
      listen: { type: 'string', multiple: true },
      announce: { type: 'string', multiple: true },
      transport: { type: 'string', multiple: true },
      data: { type: 'string' },
      config: { type: 'string' },
      json: { type: 'boolean' }
    }, MASTER_USAGE)
    if (values.help === true) {
      process.stdout.write(MASTER_USAGE + '\n')
      return 0
    }
    if (positionals.length > 0) throw new FileShareError('USAGE', `unexpected argument ${positionals[0]}\n${MASTER_USAGE}`)
    // listening before the start: a signal during it stops the master cleanly once it is up
    const shutdown = onShutdownSignal(new AbortController())
    const config = loadConfig('master', values.config)
    const master = await createMaster({
      listen: values.listen ?? config.listen,
      announce: values.announce ?? config.announce,
      transports: transportsOption(values) ?? config.transports,
      encrypters: config.encrypters,
      data: values.data ?? config.data,
      relay: config.relay,
      providerGraceMs: config.providerGraceMs,
      maxFilesPerPeer: config.maxFilesPerPeer,
      maxConnections: config.maxConnections,
      requestTimeoutMs: config.requestTimeoutMs,
      requestsPerSecond: config.requestsPerSecond,
      requestBurst: config.requestBurst,
      dialBackPerIpPerMinute: config.dialBackPerIpPerMinute
    })
    const addrs = master.addrs()
    out.event('ready', { peerId: master.peerId, addrs }, `SwarmMaster ${master.peerId} ready; peers pass one of these as --master:\n${addrs.map(a => `  ${a}`).join('\n')}`)
    const signal = await shutdown
    await master.stop()
    out.event('stopped', { signal }, `stopped (${signal})`)
    return 0
  } catch (err) {
    return out.fail(err)
  }
}
