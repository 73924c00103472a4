/**
 * Downloads started from the web UI or the API. They run in the peer (not in the page):
 * a reload, or a second browser, sees the same list. A download can be cancelled (its
 * verified chunks stay in the part file) and resumed (the same get again, which keeps
 * them). Targets are folders under the configured downloads folder only.
 */
import { mkdir, realpath, lstat } from 'node:fs/promises'
import { resolve, relative, isAbsolute, dirname, sep } from 'node:path'
import type { Peer } from '../peer/peer.js'
import type { DownloadEvent, DownloadResult, ProviderStats } from '../peer/download/download.js'
import { FileShareError, toFileShareError } from '../errors.js'
import { HttpError } from './http.js'

export type DownloadState = 'starting' | 'checking' | 'running' | 'done' | 'failed' | 'cancelled'

export interface ProviderView extends ProviderStats {
  /** whether the provider has the whole file (every FileShare provider does today) */
  complete: boolean
}

export interface DownloadView {
  /** this download's key in the API (/api/downloads/KEY) */
  key: string
  /** what was asked for: a content id or a name */
  target: string
  /** the content id once known */
  id: string | null
  name: string
  /** folder relative to the downloads folder ('' = the folder itself; null when started outside it) */
  folder: string | null
  state: DownloadState
  bytes: number
  total: number | null
  /** bytes per second over the last few seconds */
  rate: number
  /** seconds left at the current rate (null when unknown) */
  eta: number | null
  providers: ProviderView[]
  dropped: Array<{ peer: string, reason: string }>
  /** [unix ms, bytes per second], one point a second, the last two minutes */
  rateHistory: Array<[number, number]>
  resumedBytes: number
  /** of `bytes`, those that came from partial providers (other downloaders) */
  partialBytes: number
  /** bytes this download served to other downloaders while it ran (swarming) */
  uploadedBytes: number
  path: string | null
  /** verified: every chunk and the manifest matched the content id */
  verified: boolean
  error: { code: string, message: string } | null
  startedAt: number
  finishedAt: number | null
  /** started by the command line (get --web), not the API */
  external: boolean
}

interface Job {
  view: DownloadView
  out: string
  controller: AbortController | null
  samples: Array<[number, number]>
  promise: Promise<void> | null
}

const RATE_WINDOW_MS = 5000
const HISTORY_POINTS = 120

export class DownloadManager {
  private readonly jobs = new Map<string, Job>()
  private nextKey = 1
  private readonly listeners = new Set<() => void>()
  private readonly ticker: NodeJS.Timeout

  constructor (private readonly peer: Peer, readonly root: string) {
    // one rate point a second for running downloads
    this.ticker = setInterval(() => { this.tick() }, 1000)
    this.ticker.unref()
  }

  close (): void {
    clearInterval(this.ticker)
    for (const job of this.jobs.values()) job.controller?.abort(new FileShareError('ABORTED', 'the peer is stopping'))
  }

  /** Called on every change (throttled by the caller). */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  list (): DownloadView[] {
    return [...this.jobs.values()].map(j => j.view).reverse()
  }

  get (key: string): DownloadView {
    return this.job(key).view
  }

  running (): number {
    return [...this.jobs.values()].filter(j => j.controller != null).length
  }

  /** The absolute folder for `folder` (relative to the downloads folder), created if needed; never outside it. */
  async folderPath (folder: unknown): Promise<{ rel: string, abs: string }> {
    if (folder != null && typeof folder !== 'string') throw new HttpError(400, 'BAD_REQUEST', 'folder must be a string')
    const rel = (folder ?? '').replace(/\\/g, '/').replace(/^\/+|\/+$/g, '')
    if (rel.includes('\0') || rel.split('/').some(p => p === '..' || p === '.') || isAbsolute(folder ?? '') || rel.length > 1024) {
      throw new HttpError(400, 'BAD_FOLDER', `folder ${JSON.stringify(folder)} must be a relative path inside the downloads folder (no .., no leading /)`)
    }
    const abs = resolve(this.root, rel)
    if (!inside(this.root, abs, true)) throw new HttpError(400, 'BAD_FOLDER', 'the folder must lie inside the downloads folder')
    // before creating anything: the deepest part that exists must not lead out (a symlink)
    const realRoot = await realpath(this.root)
    let existing = abs
    while (existing !== this.root && !(await exists(existing))) existing = dirname(existing)
    if (!inside(realRoot, await realpathOr400(existing, rel), true)) throw new HttpError(400, 'BAD_FOLDER', `${rel} leads outside the downloads folder`)
    try {
      await mkdir(abs, { recursive: true })
    } catch (err: any) {
      throw new HttpError(400, 'BAD_FOLDER', `cannot create ${rel === '' ? 'the downloads folder' : rel}: ${err?.code ?? err?.message}`)
    }
    // a symlink inside must not lead out
    if (!inside(realRoot, await realpathOr400(abs, rel), true)) throw new HttpError(400, 'BAD_FOLDER', `${rel} leads outside the downloads folder`)
    return { rel, abs }
  }

  /** Starts a download of `target` (content id or name) into `folder` under the downloads folder. */
  async start (target: unknown, folder: unknown, name?: unknown): Promise<DownloadView> {
    if (typeof target !== 'string' || target.trim() === '' || target.length > 4096) throw new HttpError(400, 'BAD_REQUEST', 'id (a content id or a file name) is required')
    if (name != null && typeof name !== 'string') throw new HttpError(400, 'BAD_REQUEST', 'name must be a string')
    const { rel, abs } = await this.folderPath(folder)
    const running = [...this.jobs.values()].find(j => j.controller != null && j.out === abs && (j.view.target === target || j.view.id === target))
    if (running != null) throw new HttpError(409, 'ALREADY_RUNNING', `already downloading ${target} into that folder (${running.view.key})`)
    const job = this.newJob(target.trim(), typeof name === 'string' && name !== '' ? name : target.trim(), rel, abs, false)
    this.run(job)
    return job.view
  }

  /** A download the command line runs itself (get --web): shown and cancellable here. */
  external (target: string, out: string, controller: AbortController): { onEvent: (e: DownloadEvent) => void, done: (r: DownloadResult) => void, failed: (err: unknown) => void } {
    const rel = inside(this.root, resolve(out), true) ? relative(this.root, resolve(out)).split(sep).join('/') : null
    const job = this.newJob(target, target, rel, resolve(out), true)
    job.controller = controller
    return {
      onEvent: e => { this.onEvent(job, e) },
      done: r => { this.finished(job, r) },
      failed: err => { this.failed(job, err) }
    }
  }

  cancel (key: string): DownloadView {
    const job = this.job(key)
    if (job.controller == null) throw new HttpError(409, 'NOT_RUNNING', `download ${key} is ${job.view.state}`)
    job.controller.abort(new FileShareError('ABORTED', 'cancelled'))
    return job.view
  }

  resume (key: string): DownloadView {
    const job = this.job(key)
    if (job.controller != null) throw new HttpError(409, 'ALREADY_RUNNING', `download ${key} is running`)
    if (job.view.state === 'done') throw new HttpError(409, 'DONE', `download ${key} is complete`)
    Object.assign(job.view, { state: 'starting', error: null, finishedAt: null, rate: 0, eta: null, dropped: [], external: false })
    job.samples = []
    this.run(job)
    return job.view
  }

  /** Forgets a download that is not running (its part files, if any, stay for a later resume). */
  remove (key: string): void {
    const job = this.job(key)
    if (job.controller != null) throw new HttpError(409, 'ALREADY_RUNNING', `cancel download ${key} first`)
    this.jobs.delete(key)
    this.changed()
  }

  private job (key: string): Job {
    const job = this.jobs.get(key)
    if (job == null) throw new HttpError(404, 'NOT_FOUND', `no download ${key}`)
    return job
  }

  private newJob (target: string, name: string, folder: string | null, out: string, external: boolean): Job {
    const key = `d${this.nextKey++}`
    const view: DownloadView = {
      key, target, id: /^fs[a-z2-7]{52}$/.test(target) ? target : null, name, folder, state: 'starting', bytes: 0, total: null, rate: 0, eta: null,
      providers: [], dropped: [], rateHistory: [], resumedBytes: 0, partialBytes: 0, uploadedBytes: 0, path: null, verified: false, error: null,
      startedAt: Date.now(), finishedAt: null, external
    }
    const job: Job = { view, out, controller: null, samples: [], promise: null }
    this.jobs.set(key, job)
    this.changed()
    return job
  }

  private run (job: Job): void {
    const controller = new AbortController()
    job.controller = controller
    this.changed()
    job.promise = this.peer.get(job.view.target, {
      out: job.out,
      signal: controller.signal,
      onEvent: e => { this.onEvent(job, e) }
    }).then(result => { this.finished(job, result) }, err => { this.failed(job, err) })
      .catch(err => { // a bug in the bookkeeping must not take the peer down
        job.controller = null
        Object.assign(job.view, { state: 'failed', error: { code: 'INTERNAL', message: String(err?.message ?? err) } })
      })
  }

  private onEvent (job: Job, e: DownloadEvent): void {
    const v = job.view
    v.id = e.id
    if (e.event === 'checking') {
      v.state = 'checking'
    } else if (e.event === 'resumed') {
      v.resumedBytes = e.bytes
      v.bytes = e.bytes
    } else if (e.event === 'provider-dropped') {
      v.dropped.push({ peer: e.peer, reason: e.reason })
      if (v.dropped.length > 50) v.dropped.shift()
    } else {
      v.state = 'running'
      v.bytes = e.bytes
      v.total = e.total
      v.providers = e.providers.map(p => ({ ...p, complete: holdsAll(p) }))
      v.partialBytes = e.partialBytes ?? 0
      v.uploadedBytes = e.uploadedBytes ?? v.uploadedBytes
      const now = Date.now()
      job.samples.push([now, e.bytes])
      while (job.samples.length > 2 && job.samples[0][0] < now - RATE_WINDOW_MS) job.samples.shift()
      this.updateRate(job)
    }
    this.changed()
  }

  private updateRate (job: Job): void {
    const v = job.view
    const s = job.samples
    if (s.length < 2) return
    const [t0, b0] = s[0]
    const [t1, b1] = s[s.length - 1]
    v.rate = t1 > t0 ? (b1 - b0) / (t1 - t0) * 1000 : 0
    v.eta = v.rate > 0 && v.total != null ? Math.max(0, (v.total - v.bytes) / v.rate) : null
  }

  private finished (job: Job, r: DownloadResult): void {
    const v = job.view
    Object.assign(v, {
      state: 'done', id: r.id, bytes: r.bytes, total: r.bytes, path: r.path, verified: true, rate: r.seconds > 0 ? (r.bytes - r.resumedBytes) / r.seconds : 0,
      eta: 0, providers: r.providers.map(p => ({ ...p, complete: holdsAll(p) })), resumedBytes: r.resumedBytes, finishedAt: Date.now(), name: r.path.split(sep).pop() ?? v.name
    })
    job.controller = null
    this.changed()
  }

  private failed (job: Job, err: unknown): void {
    const e = toFileShareError(err)
    const cancelled = job.controller?.signal.aborted === true
    Object.assign(job.view, { state: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : { code: e.code, message: e.message }, rate: 0, eta: null, finishedAt: Date.now() })
    job.controller = null
    this.changed()
  }

  private tick (): void {
    const now = Date.now()
    let any = false
    for (const job of this.jobs.values()) {
      if (job.controller == null) continue
      any = true
      const s = job.samples
      // no progress event for a while: the rate decays to what the window says
      if (s.length > 0 && now - s[s.length - 1][0] > 1000) {
        s.push([now, s[s.length - 1][1]])
        while (s.length > 2 && s[0][0] < now - RATE_WINDOW_MS) s.shift()
        this.updateRate(job)
      }
      job.view.rateHistory.push([now, Math.round(job.view.rate)])
      if (job.view.rateHistory.length > HISTORY_POINTS) job.view.rateHistory.shift()
    }
    if (any) this.changed()
  }

  private changed (): void {
    for (const l of this.listeners) l()
  }
}

/** Whether a provider holds the whole file: not a partial provider (another downloader, swarming). */
function holdsAll (p: ProviderStats): boolean {
  return p.partial !== true
}

async function realpathOr400 (path: string, rel: string): Promise<string> {
  try {
    return await realpath(path)
  } catch (err: any) {
    throw new HttpError(400, 'BAD_FOLDER', `${rel}: ${err?.code ?? err?.message}`)
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch {
    return false
  }
}

/** `path` lies inside `dir` (or is `dir` itself when `orSame`). */
export function inside (dir: string, path: string, orSame = false): boolean {
  const rel = relative(dir, path)
  if (rel === '') return orSame
  return rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel)
}
