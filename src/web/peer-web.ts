/**
 * The peer's web UI and JSON API (see README "Web UI and HTTP API"): what is shared, search,
 * downloads that run in the peer (start, watch, cancel, resume), reachability, and
 * /metrics. Depends only on the public `Peer` interface and the metrics sink.
 */
import { writeFile, rm, mkdir, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { Peer } from '../peer/peer.js'
import { formatContentId } from '../content/content-id.js'
import { startWebServer, jsonBody, HttpError, type ListenAddress, type WebServer } from './http.js'
import { DownloadManager } from './downloads.js'
import { enablePrometheus, type PrometheusMetrics } from '../metrics/prometheus.js'
import { MAX_QUERY_LENGTH } from '../protocols/lookup/constants.js'

/** The file in a peer's data folder that tells `peer.js status` where the running peer's API is. */
export const WEB_RECORD = 'web.json'

export interface PeerWebOptions {
  listen: ListenAddress
  /** downloads started from the UI go into folders under this one */
  downloads: string
  /** the shared folder (shown), if any */
  share?: string | null
  /** the peer's data folder: `web.json` (URL and token, mode 0600) is written there while the server runs */
  data?: string | null
  token?: string
}

export interface PeerWeb {
  readonly server: WebServer
  readonly downloads: DownloadManager
  close: () => Promise<void>
}

/** The bytes a peer shares, summed again at most every 2 s (a share may hold many files). */
const sizeCache = new WeakMap<Peer, { at: number, count: number, bytes: number }>()
function totalSize (peer: Peer): number {
  const cached = sizeCache.get(peer)
  if (cached != null && cached.count === peer.catalog.size && Date.now() - cached.at < 2000) return cached.bytes
  let bytes = 0
  for (const f of peer.catalog.files()) bytes += f.size
  sizeCache.set(peer, { at: Date.now(), count: peer.catalog.size, bytes })
  return bytes
}

/** A peer's share and activity in one object (GET /api/status, and the `status` SSE event). */
export function peerStatus (peer: Peer, downloads: DownloadManager, sink: PrometheusMetrics, share: string | null): Record<string, unknown> {
  const stats = peer.shareStats()
  const sharedBytes = totalSize(peer)
  return {
    peerId: peer.peerId,
    addrs: peer.addrs(),
    master: peer.master?.addr.toString() ?? null,
    registered: peer.registered(),
    reachability: peer.reachability(),
    // a seeding get shares its file without a folder
    share: share == null && peer.catalog.size === 0 ? null : { folder: share, files: peer.catalog.size, bytes: sharedBytes, hashed: stats?.hashed ?? 0, cached: stats?.cached ?? 0, pending: stats?.pending ?? 0 },
    uploads: { active: peer.activeUploads(), servedBytes: sink.totals.servedBytes },
    downloads: { running: downloads.running(), folder: downloads.root, downloadedBytes: sink.totals.downloadedBytes },
    pid: process.pid
  }
}

/** A peer's gauges in /metrics (with --web or --metrics). */
export function registerPeerGauges (sink: PrometheusMetrics, peer: Peer): void {
  sink.gauge('fileshare_upload_slots_in_use', 'Fetch streams this peer is serving now', () => peer.activeUploads())
  sink.gauge('fileshare_shared_files', 'Files this peer shares', () => peer.catalog.size)
}

export async function startPeerWeb (peer: Peer, options: PeerWebOptions): Promise<PeerWeb> {
  const sink = enablePrometheus('peer')
  const root = resolve(options.downloads)
  await mkdir(root, { recursive: true })
  const downloads = new DownloadManager(peer, root)
  const share = options.share != null ? resolve(options.share) : null
  registerPeerGauges(sink, peer)
  sink.gauge('fileshare_downloads_running', 'Downloads running in this peer (web API)', () => downloads.running())

  const status = (): Record<string, unknown> => peerStatus(peer, downloads, sink, share)

  const routes = (app: Hono): void => {
    app.get('/api/status', c => c.json(status()))

    app.get('/api/files', c => {
      const q = (c.req.query('q') ?? '').toLowerCase()
      const offset = intParam(c.req.query('offset'), 0, 0, Number.MAX_SAFE_INTEGER, 'offset')
      const limit = intParam(c.req.query('limit'), 200, 1, 1000, 'limit')
      const now = Date.now()
      const all = [...peer.catalog.files()]
        .filter(f => q === '' || f.path.toLowerCase().includes(q))
        .sort((a, b) => a.path.localeCompare(b.path))
      const files = all.slice(offset, offset + limit).map(f => {
        const id = formatId(f.id)
        const u = sink.uploads.get(id)
        return { id, path: f.path, size: f.size, uploads: { bytes: u?.bytes ?? 0, chunks: u?.chunks ?? 0, lastAt: u?.lastAt ?? null, active: u != null && now - u.lastAt < 3000 } }
      })
      const stats = peer.shareStats()
      return c.json({ total: all.length, offset, files, pending: stats?.pending ?? 0 })
    })

    app.get('/api/search', async c => {
      const q = (c.req.query('q') ?? '').trim()
      if (q === '') throw new HttpError(400, 'BAD_REQUEST', 'q (search words) is required')
      if (q.length > MAX_QUERY_LENGTH) throw new HttpError(400, 'BAD_REQUEST', `q is longer than ${MAX_QUERY_LENGTH} characters`)
      const limit = intParam(c.req.query('limit'), 50, 1, 100, 'limit')
      const results = await peer.search(q, { limit })
      return c.json({ query: q, results })
    })

    app.get('/api/folders', async c => {
      const { rel, abs } = await downloads.folderPath(c.req.query('path') ?? '')
      const entries = await readdir(abs, { withFileTypes: true })
      const folders = entries.filter(e => e.isDirectory() && !e.name.startsWith('.')).map(e => rel === '' ? e.name : `${rel}/${e.name}`).sort()
      return c.json({ root: root, path: rel, folders })
    })

    app.get('/api/downloads', c => c.json({ downloads: downloads.list() }))
    app.post('/api/downloads', async c => {
      const body = await jsonBody(c)
      // a content id, or a name the master (or get) resolves
      const target = body.id ?? body.name
      return c.json({ download: await downloads.start(target, body.folder, body.name) }, 201)
    })
    app.get('/api/downloads/:key', c => c.json({ download: downloads.get(c.req.param('key')) }))
    app.post('/api/downloads/:key/cancel', c => c.json({ download: downloads.cancel(c.req.param('key')) }))
    app.post('/api/downloads/:key/resume', c => c.json({ download: downloads.resume(c.req.param('key')) }))
    app.delete('/api/downloads/:key', c => {
      downloads.remove(c.req.param('key'))
      return c.json({ removed: c.req.param('key') })
    })

    app.get('/api/events', c => streamSSE(c, async stream => {
      let dirty = true
      let closed = false
      const offDownloads = downloads.onChange(() => { dirty = true })
      const offReach = peer.onReachabilityChange(() => { dirty = true })
      stream.onAbort(() => { closed = true })
      let lastStatus = ''
      let ticks = 0
      try {
        while (!closed) {
          const s = JSON.stringify(status())
          if (s !== lastStatus) {
            lastStatus = s
            await stream.writeSSE({ event: 'status', data: s })
          }
          if (dirty) {
            dirty = false
            await stream.writeSSE({ event: 'downloads', data: JSON.stringify({ downloads: downloads.list() }) })
          }
          if (++ticks % 60 === 0) await stream.write(': keep-alive\n\n')
          await stream.sleep(250)
        }
      } finally {
        offDownloads()
        offReach()
      }
    }))

    app.get('/metrics', async c => c.body(await sink.text(), 200, { 'Content-Type': sink.contentType }))
  }

  const server = await startWebServer({
    listen: options.listen,
    token: options.token,
    routes,
    title: 'FileShare peer',
    assets: { '/': 'peer.html', '/peer.js': 'peer.js', '/style.css': 'style.css', '/uPlot.min.css': 'uPlot.min.css' }
  })
  const record = options.data != null ? join(resolve(options.data), WEB_RECORD) : null
  if (record != null) {
    await mkdir(resolve(options.data!), { recursive: true })
    await writeFile(record, JSON.stringify({ url: server.url, token: server.token, pid: process.pid, peerId: peer.peerId }) + '\n', { mode: 0o600 })
  }
  return {
    server,
    downloads,
    async close () {
      downloads.close()
      await server.close()
      if (record != null) await rm(record, { force: true })
    }
  }
}

function intParam (text: string | undefined, fallback: number, min: number, max: number, name: string): number {
  if (text == null || text === '') return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, 'BAD_REQUEST', `${name} must be a whole number from ${min} to ${max}`)
  return n
}

const idCache = new WeakMap<Uint8Array, string>()
function formatId (id: Uint8Array): string {
  let text = idCache.get(id)
  if (text == null) {
    text = formatContentId(id)
    idCache.set(id, text)
  }
  return text
}
