/**
 * `get ID|NAME...`: verified swarm downloads, one after the other, one summary at the end.
 */
import { FileShareError, toFileShareError } from '../../errors.js'
import { COMMON_PEER_OPTIONS, MASTER_ENV, type CommandSpec } from '../command.js'
import { loadConfig } from '../config.js'
import { formatBytes, type Output } from '../output.js'
import { printable } from '../printable.js'
import { wholeNumber, rate, checkOutDir, checkMultiaddr } from '../validate.js'
import { onShutdownSignal } from '../args.js'
import { SERVING_OPTIONS } from './share.js'
import { ProgressReporter } from '../progress.js'
import { PEER_WEB_OPTIONS, webAddress, metricsAddress, webStartIfWanted, NO_WEB, type WebKeys } from '../web-options.js'

export const getCommand: CommandSpec = {
  name: 'get',
  args: 'ID|NAME...',
  summary: 'Downloads files by content id (fs…) or by name (case-insensitive; a whole shared path also works) from every live provider at once, verifying every 1 MiB chunk. Several files are fetched one after the other. An interrupted get resumes when run again; a file already in --out with the same content is not fetched again.',
  options: [
    ...COMMON_PEER_OPTIONS,
    { name: 'from', type: 'string', value: 'PEER_MA', help: 'fetch straight from this peer (no master needed): a multiaddr ending in /p2p/<PeerId>, or /p2p/<PeerId> alone (addresses from the master)' },
    { name: 'out', type: 'string', value: 'DIR', help: 'folder to write into (created when missing)', default: 'the current folder' },
    { name: 'listen', type: 'string', multiple: true, value: 'MA', help: 'multiaddr to listen on, so a provider behind a NAT can dial back', default: '"listen" of the config' },
    { name: 'max-download-rate', type: 'string', value: 'RATE', help: 'bytes per second requested from all providers together, e.g. 500K, 2M; 0 = unlimited', default: 'unlimited ("maxDownloadRate")' },
    { name: 'seed', type: 'boolean', help: 'after the download keep serving the file (registered with the master) until Ctrl-C' },
    { name: 'no-upload', type: 'boolean', help: 'serve nothing while downloading (by default a get serves the chunks it verified to other downloaders, registered as a partial provider)', default: 'uploads ("upload": true)' },
    ...SERVING_OPTIONS.map(o => ({ ...o, help: `${o.help}; not with --no-upload unless --seed` })),
    ...PEER_WEB_OPTIONS.map(o => o.name === 'metrics' ? o : { ...o, help: `${o.help}; with --seed only` })
  ],
  env: MASTER_ENV,
  examples: [
    'get beach-sunset.jpg --out ~/Downloads',
    'get fsb2…q4 notes.txt          # two files, one after the other',
    'get report.pdf --from /ip4/192.0.2.7/tcp/4002/p2p/12D3Koo… --seed'
  ],
  async run ({ values, positionals }, out) {
    if (positionals.length === 0) throw new FileShareError('USAGE', 'get needs one or more IDs or NAMEs; see get --help')
    const seed = values.seed === true
    // a get serves while it downloads (swarming) unless --no-upload or config "upload": false
    const noUpload = values['no-upload'] === true
    if (!seed && noUpload && (values.announce != null || values['max-uploads'] != null || values['max-upload-rate'] != null)) {
      throw new FileShareError('USAGE', '--announce, --max-uploads and --max-upload-rate serve: not with --no-upload unless --seed; see get --help')
    }
    if (seed && positionals.length > 1) throw new FileShareError('USAGE', '--seed takes one ID or NAME; see get --help')
    if (!seed && (values.web != null || values.downloads != null)) throw new FileShareError('USAGE', '--web and --downloads go with --seed (or with --share); see get --help')
    const maxUploads = wholeNumber('--max-uploads', values['max-uploads'])
    rate('--max-upload-rate', values['max-upload-rate'])
    rate('--max-download-rate', values['max-download-rate'])
    checkOutDir('--out', values.out)
    if (values.from != null) await checkMultiaddr('--from', values.from, 'required')
    const controller = new AbortController()
    const shutdown = onShutdownSignal(controller)
    const config = loadConfig('peer', values.config, m => { out.warn(m) })
    const web = seed ? webAddress(values, config as WebKeys) : null
    const metricsAddr = metricsAddress(values, config as WebKeys)
    const webStart = await webStartIfWanted(web, metricsAddr)
    webStart?.enableMetricsIfWanted(web, metricsAddr, 'peer')
    const session = await import('./session.js')
    await session.checkPeerAddresses(config, values, { listen: true, announce: seed || !noUpload })
    // get listens (config addresses unless --listen): a provider behind a NAT can then dial us
    // back so data flows direct instead of relayed, and a seeding get is reachable
    const extra = { listen: values.listen ?? config.listen, maxUploads: maxUploads ?? config.maxUploads, ...(noUpload ? { upload: false } : {}) }
    return await session.withClient(config, values, extra, out, async peer => {
      // get --seed --web: the page shows this download (and can cancel it), then the seeded file
      const webServices = webStart == null ? NO_WEB : await webStart.startPeerWebIfWanted(peer, web, metricsAddr, {
        downloads: values.downloads ?? (config as WebKeys).downloads ?? '.fileshare/downloads',
        data: values.data ?? null
      }, out)
      try {
        return await getAll(peer, webServices.web)
      } finally {
        await webServices.close()
      }
    }, values.master != null || values.from == null)

    async function getAll (peer: import('./session.js').Peer, pageWeb: import('../../web/peer-web.js').PeerWeb | null): Promise<number> {
      const failures: Array<{ target: string, error: FileShareError }> = []
      let got = 0
      let existing = 0
      for (const target of positionals) {
        if (controller.signal.aborted) break
        try {
          const shown = pageWeb?.downloads.external(target, values.out ?? '.', controller)
          const result = await getOne(peer, target, values, seed, controller.signal, out, shown)
          if (result.existing === true) existing++
          else got++
          if (seed) {
            out.event('seeding', { id: result.id, path: result.path, peerId: peer.peerId, addrs: peer.addrs() },
              `seeding ${printable(result.path)} as ${peer.peerId} until interrupted (Ctrl-C)`)
            session.reportReachabilityChanges(peer, out)
            const signal = await shutdown
            out.event('stopped', { signal }, `stopped (${signal})`)
          }
        } catch (err) {
          const e = toFileShareError(err)
          if (positionals.length === 1 || e.code === 'ABORTED' || e.code === 'USAGE') throw e
          failures.push({ target, error: e })
          out.warn(`${target}: ${e.message.split('\n')[0]} (${e.code})`)
        }
      }
      if (positionals.length > 1) {
        const summary = `${got} downloaded, ${existing} already there, ${failures.length} failed`
        out.event('summary', { files: positionals.length, downloaded: got, existing, failed: failures.map(f => ({ target: f.target, code: f.error.code, message: f.error.message })) }, summary)
        if (failures.length > 0) {
          throw new FileShareError(failures[0].error.code === 'USAGE' ? 'NOT_FOUND' : failures[0].error.code,
            `${failures.length} of ${positionals.length} downloads failed: ${failures.map(f => `${f.target} (${f.error.code})`).join(', ')}`)
        }
      }
      return 0
    }
  }
}

type Shown = ReturnType<import('../../web/downloads.js').DownloadManager['external']>

async function getOne (peer: import('./session.js').Peer, target: string, values: Record<string, any>, seed: boolean, signal: AbortSignal, out: Output, shown?: Shown): Promise<import('../../peer/download/types.js').DownloadResult> {
  const reporter = new ProgressReporter(printable(target), out.json)
  try {
    const result = await peer.get(target, {
      out: values.out,
      from: values.from,
      skipExisting: true,
      seed,
      signal,
      onEvent: event => {
        shown?.onEvent(event)
        if (event.event === 'progress') {
          out.event('progress', { id: event.id, bytes: event.bytes, total: event.total, providers: event.providers, received: event.received ?? event.bytes, partialBytes: event.partialBytes, uploadedBytes: event.uploadedBytes ?? 0 })
          reporter.update(event.bytes, event.total, event.providers.length, event.received ?? event.bytes)
        } else if (event.event === 'checking') {
          out.event('checking', { id: event.id, chunks: event.chunks })
          reporter.note(`checking ${event.chunks} chunk(s) left by an earlier run…`)
        } else if (event.event === 'resumed') {
          out.event('resumed', { id: event.id, bytes: event.bytes, chunks: event.chunks })
          reporter.resumed(event.bytes)
          reporter.note(`resuming: ${formatBytes(event.bytes)} already verified on disk`)
        } else {
          out.event(event.event, { id: event.id, peer: event.peer, reason: event.reason })
          reporter.note(`provider ${printable(event.peer)} dropped: ${printable(event.reason)}`)
        }
      }
    })
    reporter.stop()
    shown?.done(result)
    if (result.existing === true) {
      out.event('done', { id: result.id, path: result.path, bytes: result.bytes, seconds: result.seconds, providers: result.providers, existing: true },
        `${printable(result.path)}: already have it (same content, ${formatBytes(result.bytes)}); nothing downloaded`)
    } else {
      out.event('done', { id: result.id, path: result.path, bytes: result.bytes, seconds: result.seconds, providers: result.providers, partialBytes: result.partialBytes, uploadedBytes: result.uploadedBytes ?? 0 },
        `${printable(result.path)}: ${formatBytes(result.bytes)} verified in ${result.seconds.toFixed(2)} s from ${result.providers.length} provider(s)` +
        (result.partialBytes > 0 || (result.uploadedBytes ?? 0) > 0 ? ` (${formatBytes(result.partialBytes)} from other downloaders, ${formatBytes(result.uploadedBytes ?? 0)} uploaded)` : ''))
    }
    return result
  } catch (err) {
    reporter.stop()
    shown?.failed(err)
    const e = toFileShareError(err)
    if (e.code === 'ABORTED' && reporter.total > 0) {
      const kept = reporter.verified
      throw new FileShareError('ABORTED', kept > 0
        ? `interrupted: ${formatBytes(kept)} of ${formatBytes(reporter.total)} verified and kept in ${printable(values.out ?? '.')}; run the same command again to resume`
        : 'interrupted before any chunk was verified; nothing kept', { cause: err })
    }
    throw e
  }
}
