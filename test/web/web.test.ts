/**
 * The web UI in a real browser (headless Chromium): a master with its dashboard, a peer
 * sharing a file, and a peer with the web UI, all as real processes. The page searches,
 * downloads and shows progress to 100 %; the file is verified on disk; the token is
 * required; the dashboard shows the swarm; /metrics parses and counts the download.
 * The screenshots go to build/screenshots/; with UPDATE_SCREENSHOTS=1 to docs/ (the README's).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { BrowserContext } from 'playwright-core'
import { run, runToEnd, killAll, MASTER_JS, PEER_JS, ROOT, type Proc } from '../helpers/processes.js'
import { tempDir, sha256File, waitFor } from '../helpers/swarm.js'
import { browserSkipReason, launchBrowser } from '../helpers/browser.js'

const LOCAL = '/ip4/127.0.0.1/tcp/0'
const skip = browserSkipReason()
const SIZE = 5 * 1024 * 1024 + 4321
const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs') : join(ROOT, 'build/screenshots')

interface Web { url: string, token: string, open: string }

async function call (web: Web, path: string, init: RequestInit = {}): Promise<{ status: number, body: any, text: string }> {
  const res = await fetch(new URL(path, web.url), { ...init, headers: { Authorization: `Bearer ${web.token}`, ...(init.headers ?? {}) } })
  const text = await res.text()
  let body: any = null
  try { body = JSON.parse(text) } catch {}
  return { status: res.status, body, text }
}

/** A raw request with headers fetch will not let us set (Host). */
async function rawGet (url: string, headers: Record<string, string>): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { headers }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end()
  })
}

/** Prometheus text exposition: every sample line parses; returns name{labels} → value. */
function parsePrometheus (text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# TYPE')) assert.match(line, /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/)
      continue
    }
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)( \d+)?$/)
    assert.ok(m != null, `not a Prometheus sample line: ${line}`)
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]))
  }
  return samples
}

describe('web UI in a browser', { skip: skip ?? false, timeout: 90_000 }, () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Proc
  let alice: Proc
  let bob: Proc
  let masterWeb: Web
  let bobWeb: Web
  let browser: { context: BrowserContext, close: () => Promise<void> } | null = null
  let source: string
  let fileId: string
  let masterAddr: string
  let aliceMetrics: string

  before(async () => {
    dir = await tempDir('fileshare-web-')
    await mkdir(join(dir.path, 'alice/Movies'), { recursive: true })
    await mkdir(join(dir.path, 'bob'), { recursive: true })
    source = join(dir.path, 'alice/Movies/sunset-timelapse.mp4')
    await writeFile(source, randomBytes(SIZE))
    await writeFile(join(dir.path, 'alice/Movies/credits.txt'), 'the end\n')
    await writeFile(join(dir.path, 'bob/notes.txt'), 'bob shares notes\n')
    master = run(MASTER_JS, ['--listen', LOCAL, '--data', join(dir.path, 'master'), '--web', '127.0.0.1:0', '--json'])
    const ready = await master.next(e => e.event === 'ready', 'ready')
    masterWeb = await master.next(e => e.event === 'web', 'web')
    const ma = ready.addrs[0]
    masterAddr = ma
    alice = run(PEER_JS, ['--share', join(dir.path, 'alice'), '--master', ma, '--listen', LOCAL, '--data', join(dir.path, 'alice-data'), '--metrics', '127.0.0.1:0', '--json'])
    bob = run(PEER_JS, ['--share', join(dir.path, 'bob'), '--master', ma, '--listen', LOCAL, '--data', join(dir.path, 'bob-data'),
      '--web', '127.0.0.1:0', '--downloads', join(dir.path, 'downloads'), '--json'])
    bobWeb = await bob.next(e => e.event === 'web', 'web')
    await alice.next(e => e.event === 'ready', 'ready')
    aliceMetrics = (await alice.next(e => e.event === 'metrics', 'metrics')).url
    // registration follows ready: wait until bob's API finds alice's file through the master
    await waitFor(async () => {
      const r = await call(bobWeb, '/api/search?q=sunset')
      if (r.body?.results?.length === 1) fileId = r.body.results[0].id
      return fileId != null
    }, 20_000, 'the file in a search')
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    await killAll()
    await dir?.cleanup()
  })

  it('requires the token: 401 without it, 403 for a foreign Host or Origin', async () => {
    for (const path of ['/api/status', '/api/downloads', '/metrics']) {
      const res = await fetch(new URL(path, bobWeb.url))
      assert.equal(res.status, 401, path)
      assert.equal((await res.json() as any).error.code, 'UNAUTHORIZED')
    }
    assert.equal((await fetch(new URL('/api/status', bobWeb.url), { headers: { Authorization: 'Bearer wrong' } })).status, 401)
    assert.equal((await fetch(new URL('/api/status', masterWeb.url))).status, 401)
    // DNS rebinding: a name that is not ours, even with the token
    assert.equal(await rawGet(new URL('/api/status', bobWeb.url).toString(), { Host: 'attacker.example:80', Authorization: `Bearer ${bobWeb.token}` }), 403)
    const cross = await call(bobWeb, '/api/downloads', { method: 'POST', headers: { Origin: 'http://attacker.example', 'Content-Type': 'application/json' }, body: JSON.stringify({ id: fileId }) })
    assert.equal(cross.status, 403)
    // the page without the token, in the browser
    const page = await browser!.context.newPage()
    const res = await page.goto(bobWeb.url)
    assert.equal(res?.status(), 401)
    assert.match(await page.textContent('body') ?? '', /token required/)
    await page.close()
  })

  it('rejects bad requests with a JSON 4xx and never a path outside the downloads folder', async () => {
    const post = async (body: string): Promise<{ status: number, body: any }> => await call(bobWeb, '/api/downloads', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })
    for (const folder of ['../outside', '/etc', 'a/../../b', 'a\u0000b']) {
      const r = await post(JSON.stringify({ id: fileId, folder }))
      assert.equal(r.status, 400, folder)
      assert.equal(r.body.error.code, 'BAD_FOLDER')
    }
    assert.equal((await post('not json')).status, 400)
    assert.equal((await post('[]')).status, 400)
    assert.equal((await post('{}')).status, 400)
    assert.equal((await post(JSON.stringify({ id: 'x'.repeat(100_000) }))).status, 413)
    assert.equal((await call(bobWeb, '/api/search')).status, 400)
    assert.equal((await call(bobWeb, '/api/search?q=x&limit=-3')).status, 400)
    assert.equal((await call(bobWeb, '/api/downloads/nope')).status, 404)
    assert.equal((await call(bobWeb, '/api/nothing')).status, 404)
  })

  it('searches as the user types, downloads into a chosen folder and shows it verified at 100 %', async () => {
    const page = await browser!.context.newPage()
    await page.goto(bobWeb.open) // sets the cookie, then drops the token from the address bar
    assert.equal(new URL(page.url()).search, '')
    await page.getByTestId('reachability').waitFor()
    await page.getByTestId('search-input').pressSequentially('sunset tim', { delay: 20 })
    const row = page.getByTestId('result-row').filter({ hasText: 'sunset-timelapse.mp4' })
    await row.waitFor()
    await page.getByTestId('folder-input').fill('films/2026')
    await row.getByTestId('download-button').click()
    const card = page.locator('[data-testid=download-card][data-state=done]')
    await card.waitFor({ timeout: 30_000 })
    assert.equal(await card.getByTestId('progress-text').textContent(), '100 %')
    assert.match(await card.getByTestId('verified').textContent() ?? '', /verified/)
    assert.match(await card.getByTestId('provider-row').first().textContent() ?? '', /direct/)
    const target = join(dir.path, 'downloads/films/2026/sunset-timelapse.mp4')
    assert.equal(await sha256File(target), await sha256File(source))
    // the download lives in the peer: a reload shows it again
    await page.reload()
    await page.locator('[data-testid=download-card][data-state=done]').waitFor()
    await page.getByTestId('search-input').fill('sunset')
    await row.waitFor()
    await page.getByTestId('shared-row').first().waitFor()
    await page.screenshot({ path: join(SHOTS, 'peer-ui.png'), fullPage: true })
    await page.close()
  })

  it('shows the swarm on the master dashboard', async () => {
    const page = await browser!.context.newPage()
    await page.goto(masterWeb.open)
    await waitFor(async () => await page.getByTestId('peer-row').count() === 2, 15_000, 'two peers on the dashboard')
    assert.match(await page.getByTestId('tile-peers').textContent() ?? '', /^2live peers2 direct · 0 relayed/)
    assert.match(await page.getByTestId('tile-files').textContent() ?? '', /^3files indexed/)
    await page.getByTestId('chart-peers').waitFor()
    await page.screenshot({ path: join(SHOTS, 'master-dashboard.png'), fullPage: true })
    await page.close()
    const overview = await call(masterWeb, '/api/overview')
    assert.equal(overview.body.peers.live, 2)
    assert.equal(overview.body.index.ids, 3)
  })

  it('serves /metrics as Prometheus text that counts the download (and the upload)', async () => {
    const peer = parsePrometheus((await call(bobWeb, '/metrics')).text)
    assert.equal(peer.get('fileshare_downloaded_bytes_total'), SIZE)
    assert.equal(peer.get('fileshare_chunks_verified_total'), Math.ceil(SIZE / (1024 * 1024)))
    assert.equal(peer.get('fileshare_chunks_rejected_total'), 0)
    assert.equal(peer.get('fileshare_shared_files'), 1)
    assert.ok(peer.has('fileshare_upload_slots_in_use'))
    assert.ok([...peer.keys()].some(k => k.startsWith('libp2p_')), 'libp2p metrics too')
    // --metrics alone: /metrics without a token, and nothing else
    const provider = parsePrometheus(await (await fetch(aliceMetrics)).text())
    assert.equal(provider.get('fileshare_served_bytes_total'), SIZE)
    assert.equal(provider.get('fileshare_shared_files'), 2)
    assert.equal(provider.get('fileshare_upload_slots_in_use'), 0)
    assert.equal((await fetch(new URL('/api/status', aliceMetrics))).status, 404)
    const m = parsePrometheus((await call(masterWeb, '/metrics')).text)
    assert.ok((m.get('fileshare_lookups_total{kind="search"}') ?? 0) >= 1)
    assert.ok((m.get('fileshare_lookups_total{kind="providers"}') ?? 0) >= 1)
    assert.ok((m.get('fileshare_search_duration_seconds_count') ?? 0) >= 1)
    assert.equal(m.get('fileshare_live_peers{path="direct"}'), 2)
    assert.equal(m.get('fileshare_indexed_content_ids'), 3)
  })

  it('peer.js status reads the running peer through its API', async () => {
    const r = await runToEnd(PEER_JS, ['status', '--data', join(dir.path, 'bob-data'), '--json'])
    assert.equal(r.code, 0, r.stderr)
    const s = r.events.find(e => e.event === 'status')
    assert.equal(s.running, true)
    assert.equal(s.share.files, 1)
    assert.equal(s.downloads[0].state, 'done')
    assert.equal(s.downloads[0].id, fileId)
  })

  it('get --seed --web shows its download on a page, and doctor checks the running peer', async () => {
    const out = join(dir.path, 'seeded')
    const seeder = run(PEER_JS, ['get', fileId, '--seed', '--web', '127.0.0.1:0', '--master', masterAddr, '--out', out, '--listen', LOCAL, '--json'])
    const doctor = runToEnd(PEER_JS, ['doctor', '--data', join(dir.path, 'bob-data'), '--json'])
    const web: Web = await seeder.next(e => e.event === 'web', 'web')
    await seeder.next(e => e.event === 'seeding', 'seeding')
    const { body } = await call(web, '/api/downloads')
    assert.equal(body.downloads.length, 1)
    assert.equal(body.downloads[0].state, 'done')
    assert.equal(body.downloads[0].external, true)
    assert.equal((await call(web, '/api/status')).body.share.files, 1)
    await seeder.kill('SIGTERM')
    const d = await doctor
    assert.equal(d.code, 0, d.stderr + JSON.stringify(d.events))
    const checks = new Map(d.events.filter(e => e.event === 'check').map(e => [e.check, e.result]))
    for (const check of ['running peer', 'master configured', 'master reachable', 'master sees this peer', 'relay slot', 'share folder', 'downloads folder', 'data folder']) {
      assert.equal(checks.get(check), 'ok', check)
    }
  })
})
