/**
 * What the peer commands share once they run: the peer's options from config and flags, the
 * checked inputs, a throwaway client peer, reachability reports. This module loads the peer
 * (libp2p): the commands import it dynamically, after --help and parsing.
 */
import '../../node/polyfill.js'
import { createPeer, type Peer, type PeerOptions } from '../../peer/peer.js'
import { FileShareError } from '../../errors.js'
import type { Output } from '../output.js'
import { printable } from '../printable.js'
import { masterAddress, type PeerConfig } from '../config.js'
import { checkMultiaddr, checkMultiaddrs, rate, transports, encrypters } from '../validate.js'

export { createPeer, type Peer }

/** Checks the addresses a peer command will use, naming where each came from. */
export async function checkPeerAddresses (config: PeerConfig, values: Record<string, any>, uses: { listen?: boolean, announce?: boolean }): Promise<void> {
  const master = masterAddress(values.master, process.env, config)
  if (master != null && master !== '') {
    const label = values.master != null ? '--master' : process.env.FILESHARE_MASTER != null ? 'FILESHARE_MASTER' : 'config key "master"'
    await checkMultiaddr(label, master, 'required')
  }
  if (uses.listen === true) await checkMultiaddrs(values.listen != null ? '--listen' : 'config key "listen"', values.listen ?? config.listen, 'optional')
  if (uses.announce === true) await checkMultiaddrs(values.announce != null ? '--announce' : 'config key "announce"', values.announce ?? config.announce, 'optional')
}

/** Options every command takes from the config, the environment and the common flags. */
export function peerOptions (config: PeerConfig, values: Record<string, any>): PeerOptions {
  const c = config as PeerConfig & { maxUploadRate?: number | null, maxDownloadRate?: number | null }
  return {
    master: masterAddress(values.master, process.env, config),
    announce: values.announce ?? config.announce,
    transports: transports(values.transport, config.transports),
    encrypters: encrypters(config.encrypters),
    holePunchWaitMs: config.holePunchWaitMs,
    requestsInFlight: config.requestsInFlight,
    reachability: config.reachability,
    watch: config.watch,
    settleMs: config.settleMs,
    rescanIntervalMs: config.rescanIntervalMs,
    streamIdleTimeoutMs: config.streamIdleTimeoutMs,
    upload: config.upload,
    maxUploadsPerPeer: config.maxUploadsPerPeer,
    maxUploadsPerIp: config.maxUploadsPerIp,
    maxUploadRate: rate('--max-upload-rate', values['max-upload-rate']) ?? (c.maxUploadRate != null && c.maxUploadRate > 0 ? c.maxUploadRate : undefined),
    // an explicit 0 on the command line lifts a config limit
    maxDownloadRate: values['max-download-rate'] != null
      ? rate('--max-download-rate', values['max-download-rate'])
      : (c.maxDownloadRate != null && c.maxDownloadRate > 0 ? c.maxDownloadRate : undefined)
  }
}

/** A throwaway peer for one command (a persistent key only with --data); `extra` on top of the config. */
export async function withClient (config: PeerConfig, values: Record<string, any>, extra: PeerOptions, out: Output, run: (peer: Peer) => Promise<number>, needsMaster = true): Promise<number> {
  if (needsMaster && (masterAddress(values.master, process.env, config) ?? '') === '') {
    throw new FileShareError('NO_MASTER', 'no master configured: pass --master, set FILESHARE_MASTER or config/peer.json "master"')
  }
  const peer = await createPeer({
    ...peerOptions(config, values),
    data: values.data ?? null,
    listen: [],
    ...extra,
    // a get that serves (while downloading, or seeding) registers: the warnings of those parts
    onWarning: message => { out.warn(message) }
  })
  try {
    return await run(peer)
  } finally {
    await peer.stop()
  }
}

/** Prints a `reachability` event on every change (the manager reports changes only). */
export function reportReachabilityChanges (peer: Peer, out: Output): void {
  peer.onReachabilityChange(state => {
    out.event('reachability', { reachability: state.reachability, addrs: state.addrs }, `reachability: ${describeReachability(state)}`)
  })
}

export function describeReachability (state: { reachability: string, addrs: string[] }): string {
  return printable(state.addrs.length > 0 ? `${state.reachability} (${state.addrs.join(', ')})` : state.reachability)
}
