/**
 * The work of `status` and `doctor` (their option tables and help: commands/status.ts,
 * commands/doctor.ts, which import this module only when they run).
 *
 * `node dist/peer.js status`: what a running peer shares, its uploads and downloads now and
 * its reachability, through the API of a peer started with --web (the data folder records
 * its URL and token in web.json), else what the data folder tells.
 *
 * `node dist/peer.js doctor`: one line per check (master reachable, what the master sees of
 * this peer, relay slot, share and downloads folders, free space), with a fix for each failure.
 */
import { readFile, access, mkdir, writeFile, rm, readdir, statfs, stat, constants } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import Database from 'better-sqlite3'
import { formatBytes, type Output } from './output.js'
import { printable } from './printable.js'
import { loadConfig, type PeerConfig } from './config.js'
import { FileShareError } from '../errors.js'
import { createPeer } from '../peer/peer.js'
import { KEY_FILE } from '../node/key-store.js'
import { WEB_RECORD } from '../web/peer-web.js'
import type { WebKeys } from './web-options.js'

interface Api { url: string, token: string }

/** The running peer's API: --url/--token, else web.json in the data folder (null when none answers). */
async function findApi (values: Record<string, any>, dataDir: string): Promise<{ api: Api | null, why: string }> {
  let api: Api | null = null
  if (values.url != null) {
    const token = values.token ?? process.env.FILESHARE_WEB_TOKEN
    if (token == null) throw new FileShareError('USAGE', '--url needs --token (or FILESHARE_WEB_TOKEN)')
    api = { url: values.url, token }
  } else {
    try {
      const record = JSON.parse(await readFile(join(dataDir, WEB_RECORD), 'utf8'))
      api = { url: record.url, token: record.token }
    } catch {
      return { api: null, why: `no ${WEB_RECORD} in ${dataDir} (is the peer running with --web?)` }
    }
  }
  try {
    await call(api, '/api/status')
    return { api, why: '' }
  } catch (err: any) {
    return { api: null, why: `the peer's web API at ${api.url} does not answer (${err?.message ?? err}): not running?` }
  }
}

async function call (api: Api, path: string): Promise<any> {
  const res = await fetch(new URL(path, api.url), { headers: { Authorization: `Bearer ${api.token}` }, signal: AbortSignal.timeout(5000) })
  const body: any = await res.json().catch(() => null)
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`)
  return body
}

export async function runStatus (values: Record<string, any>, out: Output): Promise<number> {
  const config = loadConfig('peer', values.config, m => { out.warn(m) }) as PeerConfig
  const dataDir = resolve(values.data ?? config.data)
  const { api, why } = await findApi(values, dataDir)
  if (api != null) {
    const s = await call(api, '/api/status')
    const { downloads } = await call(api, '/api/downloads')
    const { files } = await call(api, '/api/files?limit=1000')
    const uploading = (files as any[]).filter(f => f.uploads.active)
    const served = (files as any[]).filter(f => f.uploads.bytes > 0).sort((a, b) => b.uploads.bytes - a.uploads.bytes)
    out.event('status', { running: true, url: api.url, ...s, downloads, uploading: uploading.map(f => f.path) }, [
      `peer ${s.peerId} (running, web UI ${api.url})`,
      `reachability: ${s.reachability.reachability}${s.reachability.addrs.length > 0 ? ` (${s.reachability.addrs.join(', ')})` : ''}`,
      `master: ${s.master ?? 'none'}${s.master != null ? (s.registered ? ' (registered)' : ' (not registered yet)') : ''}`,
      s.share != null
        ? `sharing ${s.share.files} files (${formatBytes(s.share.bytes)}) from ${printable(s.share.folder ?? '(seeded downloads)')}${s.share.pending > 0 ? `, ${s.share.pending} waiting to be hashed` : ''}`
        : 'sharing nothing',
      `uploads: ${s.uploads.active} now${uploading.length > 0 ? ` (${uploading.map((f: any) => printable(f.path)).join(', ')})` : ''}, ${formatBytes(s.uploads.servedBytes)} served since start`,
      ...served.slice(0, 5).map((f: any) => `  ${printable(f.path)}: ${formatBytes(f.uploads.bytes)} served`),
      `downloads: ${(downloads as any[]).length === 0 ? 'none' : ''}`,
      ...(downloads as any[]).map(d => `  ${d.key} ${d.state.padEnd(9)} ${printable(d.name)}  ${formatBytes(d.bytes)}${d.total != null ? ` of ${formatBytes(d.total)} (${Math.floor(d.bytes / Math.max(1, d.total) * 100)} %)` : ''}${d.state === 'running' ? `  ${formatBytes(d.rate)}/s` : ''}${d.error != null ? `  ${printable(d.error.message)}` : ''}`)
    ].join('\n'))
    return 0
  }
  // not running with --web: what the data folder tells
  let peerId: string | null = null
  try {
    peerId = peerIdFromPrivateKey(privateKeyFromProtobuf(await readFile(join(dataDir, KEY_FILE)))).toString()
  } catch {}
  if (peerId == null) throw new FileShareError('NOT_FOUND', `${why}; and ${dataDir} holds no peer key (pass --data DIR of the peer)`)
  let cached: number | null = null
  try {
    const db = new Database(join(dataDir, 'share-cache.sqlite'), { readonly: true, fileMustExist: true })
    try { cached = db.prepare('SELECT COUNT(*) FROM hashes').pluck().get() as number } finally { db.close() }
  } catch {}
  out.event('status', { running: false, reason: why, peerId, data: dataDir, hashedFiles: cached }, [
    `peer ${peerId} (data folder ${dataDir})`,
    `not reachable through its web API: ${why}`,
    cached != null ? `its hash cache knows ${cached} files of its share` : 'no hash cache (it never shared a folder from this data folder)',
    'start it with --web to see its uploads, downloads and reachability here'
  ].join('\n'))
  return 0
}

type CheckResult = 'ok' | 'warn' | 'fail'

export async function runDoctor (values: Record<string, any>, out: Output): Promise<number> {
  const config = loadConfig('peer', values.config, m => { out.warn(m) }) as PeerConfig & WebKeys
  const dataDir = resolve(values.data ?? config.data)
  let failures = 0
  const report = (check: string, result: CheckResult, detail: string, fix?: string): void => {
    if (result === 'fail') failures++
    const mark = result === 'ok' ? 'ok  ' : result === 'warn' ? 'warn' : 'FAIL'
    out.event('check', { check, result, detail, ...(fix != null ? { fix } : {}) }, `${mark}  ${check}: ${detail}${fix != null && result !== 'ok' ? `\n      fix: ${fix}` : ''}`)
  }

  // the running peer, if it has a web API
  const { api, why } = await findApi(values, dataDir)
  let status: any = null
  if (api != null) {
    status = await call(api, '/api/status').catch(() => null)
    report('running peer', 'ok', `${status?.peerId} answers at ${api.url}`)
  } else {
    report('running peer', 'warn', why, 'start the peer with --web (and the same --data) to let status and doctor see it')
  }
  let peerId: string | null = status?.peerId ?? null
  if (peerId == null) {
    try { peerId = peerIdFromPrivateKey(privateKeyFromProtobuf(await readFile(join(dataDir, KEY_FILE)))).toString() } catch {}
  }

  // the master
  const masterAddr: string | null = values.master ?? status?.master ?? process.env.FILESHARE_MASTER ?? config.master
  if (masterAddr == null || masterAddr === '') {
    report('master configured', 'fail', 'no master address', 'pass --master MA, set FILESHARE_MASTER, or "master" in config/peer.json')
  } else {
    let valid = true
    try { multiaddr(masterAddr) } catch { valid = false }
    if (!valid || !masterAddr.includes('/p2p/')) {
      report('master configured', 'fail', `${masterAddr} is not a multiaddr ending in /p2p/<PeerId>`, 'copy one of the addresses the master prints when it starts')
    } else {
      report('master configured', 'ok', masterAddr)
      const client = await createPeer({ master: masterAddr, data: null, listen: [] })
      try {
        const started = Date.now()
        try {
          await client.search('doctor', { limit: 1 })
          report('master reachable', 'ok', `answered a search in ${Date.now() - started} ms`)
          if (peerId != null) {
            const addrs = await client.master!.peerAddrs(peerIdFromString(peerId)).catch(() => [])
            const relayed = addrs.map(String).filter(a => a.includes('/p2p-circuit'))
            if (addrs.length === 0) {
              report('master sees this peer', status != null ? 'fail' : 'warn', `the master knows no address of ${peerId}`,
                status != null ? 'check that the peer uses this master and that registration succeeds (see its warnings)' : 'start the peer (peer.js --share DIR) with this --data')
            } else {
              const reach = status?.reachability?.reachability
              report('master sees this peer', 'ok', `${addrs.length} address(es)${reach != null ? `; the peer says it is ${reach}` : ''}`)
              report('relay slot', relayed.length > 0 ? 'ok' : (reach === 'public' ? 'ok' : 'warn'),
                relayed.length > 0 ? `held (${relayed[0]})` : (reach === 'public' ? 'not needed: the master reached the peer directly' : 'none held'),
                'a peer behind a NAT needs one: keep reachability "auto" or set "relayed" in config/peer.json')
            }
          }
        } catch (err: any) {
          report('master reachable', 'fail', `${err?.message ?? err}`, 'is the master running, and is its address (IP, port, PeerId) right? a firewall between you?')
        }
      } finally {
        await client.stop()
      }
    }
  }

  // folders
  const share: string | null = values.share ?? status?.share?.folder ?? null
  if (share == null) {
    report('share folder', 'warn', 'none given', 'pass --share DIR to check it')
  } else {
    try {
      await access(share, constants.R_OK | constants.X_OK)
      if (!(await stat(share)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' })
      const entries = await readdir(share)
      report('share folder', 'ok', `${share} is readable (${entries.length} entries at the top)`)
    } catch (err: any) {
      report('share folder', 'fail', `${share}: ${err?.code ?? err?.message}`, `create it, or give the peer's user read access (chmod -R u+rX ${JSON.stringify(share)})`)
    }
  }
  const downloads: string = resolve(values.downloads ?? status?.downloads?.folder ?? config.downloads ?? '.fileshare/downloads')
  await writable('downloads folder', downloads, report)
  await writable('data folder', dataDir, report)
  try {
    const fs = await statfs(downloads)
    const free = fs.bavail * fs.bsize
    report('free space', free < 1024 ** 3 ? (free < 100 * 1024 ** 2 ? 'fail' : 'warn') : 'ok', `${formatBytes(free)} free for downloads`, 'free some space or choose another --downloads folder')
  } catch {}
  out.event('summary', { failures }, failures === 0 ? 'all checks passed' : `${failures} check(s) failed`)
  return failures === 0 ? 0 : 1
}

async function writable (name: string, dir: string, report: (check: string, result: CheckResult, detail: string, fix?: string) => void): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    const probe = join(dir, `.doctor-${process.pid}.part`)
    await writeFile(probe, 'x')
    await rm(probe)
    report(name, 'ok', `${dir} is writable`)
  } catch (err: any) {
    report(name, 'fail', `${dir}: ${err?.code ?? err?.message}`, `create it and give the peer's user write access (chmod u+rwx ${JSON.stringify(dir)})`)
  }
}

