/**
 * The peer HTTP API in process (no browser): downloads that run in the peer are cancelled
 * and resumed (verified chunks kept), uploads show per file, server-sent events carry the
 * state, and misuse gets a JSON 4xx. With Chromium, the page shows a running download live
 * (rate chart, ETA) and cancels and resumes it by its buttons.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, readdir, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir, startMaster, startPeer, writeRandomFile, sha256File, waitFor } from '../helpers/swarm.js'
import { startPeerWeb, type PeerWeb } from '../../src/web/peer-web.js'
import { parseListenAddress } from '../../src/web/http.js'
import type { Master, Peer } from '../../src/index.js'
import { browserSkipReason, launchBrowser } from '../helpers/browser.js'
import { ROOT } from '../helpers/processes.js'

const SHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs') : join(ROOT, 'build/screenshots')
const noBrowser = browserSkipReason()

const SIZE = 8 * 1024 * 1024
/** The file the page cancels and resumes: 16 s at its provider's rate, ample time to click cancel on a loaded machine. */
const SLOW_SIZE = 4 * 1024 * 1024
const SLOW_RATE = 256 * 1024

describe('peer HTTP API', { timeout: 120_000 }, () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: Master
  let provider: Peer
  let slowProvider: Peer
  let downloader: Peer
  let providerWeb: PeerWeb
  let web: PeerWeb
  let id: string
  const api = async (w: PeerWeb, path: string, init: RequestInit = {}): Promise<{ status: number, body: any }> => {
    const res = await fetch(new URL(path, w.server.url), { ...init, headers: { Authorization: `Bearer ${w.server.token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) } })
    return { status: res.status, body: await res.json() }
  }

  before(async () => {
    dir = await tempDir('fileshare-api-')
    await mkdir(join(dir.path, 'share'))
    await writeRandomFile(join(dir.path, 'share/big-archive.tar'), SIZE)
    master = await startMaster(dir.path)
    // slow uploads (2 MiB/s) so that the download can be cancelled midway
    provider = await startPeer(master, { share: join(dir.path, 'share'), maxUploadRate: 2 * 1024 * 1024 })
    await mkdir(join(dir.path, 'slow-share'))
    await writeRandomFile(join(dir.path, 'slow-share/slow-movie.mkv'), SLOW_SIZE)
    slowProvider = await startPeer(master, { share: join(dir.path, 'slow-share'), maxUploadRate: SLOW_RATE })
    downloader = await startPeer(master, { listen: [] })
    providerWeb = await startPeerWeb(provider, { listen: parseListenAddress('127.0.0.1:0', 0), downloads: join(dir.path, 'unused'), share: join(dir.path, 'share') })
    web = await startPeerWeb(downloader, { listen: parseListenAddress('127.0.0.1:0', 0), downloads: join(dir.path, 'downloads'), data: join(dir.path, 'data') })
    await provider.flushRegistration()
    await slowProvider.flushRegistration()
    await waitFor(async () => (await api(web, '/api/search?q=slow')).body.results?.length === 1, 10_000, 'search')
    await waitFor(async () => (await api(web, '/api/search?q=archive')).body.results?.length === 1, 10_000, 'search')
    id = (await api(web, '/api/search?q=archive')).body.results[0].id
  })

  after(async () => {
    await web?.close()
    await providerWeb?.close()
    await downloader?.stop()
    await slowProvider?.stop()
    await provider?.stop()
    await master?.stop()
    await dir?.cleanup()
  })

  it('cancels a running download and resumes it, keeping its verified chunks', async () => {
    const started = await api(web, '/api/downloads', { method: 'POST', body: JSON.stringify({ id, folder: 'backups' }) })
    assert.equal(started.status, 201)
    const key = started.body.download.key
    assert.equal((await api(web, '/api/downloads', { method: 'POST', body: JSON.stringify({ id, folder: 'backups' }) })).status, 409, 'a second one into the same folder')
    await waitFor(async () => (await api(web, `/api/downloads/${key}`)).body.download.bytes >= 2 * 1024 * 1024, 15_000, 'some progress')
    // the provider shows the upload on that file
    const files = (await api(providerWeb, '/api/files')).body.files
    assert.equal(files[0].path, 'big-archive.tar')
    assert.ok(files[0].uploads.bytes > 0)
    assert.equal(files[0].uploads.active, true)
    const running = (await api(web, `/api/downloads/${key}`)).body.download
    assert.equal(running.state, 'running')
    assert.ok(running.rate > 0)
    assert.equal(running.providers[0].path, 'direct')

    assert.equal((await api(web, `/api/downloads/${key}/cancel`, { method: 'POST' })).status, 200)
    await waitFor(async () => (await api(web, `/api/downloads/${key}`)).body.download.state === 'cancelled', 30_000, 'cancelled')
    const left = await readdir(join(dir.path, 'downloads/backups'))
    assert.ok(left.some(f => f.endsWith('.part')), `part file kept: ${left.join(', ')}`)
    assert.ok(!left.includes('big-archive.tar'))

    assert.equal((await api(web, `/api/downloads/${key}/resume`, { method: 'POST' })).status, 200)
    await waitFor(async () => (await api(web, `/api/downloads/${key}`)).body.download.state === 'done', 60_000, 'done')
    const done = (await api(web, `/api/downloads/${key}`)).body.download
    assert.ok(done.resumedBytes >= 1024 * 1024, `resumed ${done.resumedBytes}`)
    assert.equal(done.verified, true)
    assert.equal(await sha256File(done.path), await sha256File(join(dir.path, 'share/big-archive.tar')))
    assert.equal((await api(web, `/api/downloads/${key}/resume`, { method: 'POST' })).status, 409)
    assert.equal((await api(web, `/api/downloads/${key}/cancel`, { method: 'POST' })).status, 409)
    assert.equal((await api(web, `/api/downloads/${key}`, { method: 'DELETE' })).status, 200)
    assert.equal((await api(web, `/api/downloads/${key}`)).status, 404)
  })

  it('streams the state as server-sent events', async () => {
    const res = await fetch(new URL('/api/events', web.server.url), { headers: { Authorization: `Bearer ${web.server.token}` } })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/)
    const reader = res.body!.getReader()
    let text = ''
    while (!(text.includes('event: status') && text.includes('event: downloads'))) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    await reader.cancel()
    const status = JSON.parse(text.split('event: status\ndata: ')[1].split('\n')[0])
    assert.equal(status.peerId, downloader.peerId)
    assert.equal(status.downloads.folder, join(dir.path, 'downloads'))
  })

  it('lists folders under the downloads folder only', async () => {
    const r = await api(web, '/api/folders')
    assert.deepEqual(r.body.folders, ['backups'])
    assert.equal((await api(web, '/api/folders?path=..')).status, 400)
    assert.equal((await api(web, '/api/folders?path=/etc')).status, 400)
    // a symlink inside leading out: refused before anything is created outside
    await mkdir(join(dir.path, 'outside'))
    await symlink(join(dir.path, 'outside'), join(dir.path, 'downloads/escape'))
    for (const folder of ['escape', 'escape/sub']) {
      const r = await api(web, '/api/downloads', { method: 'POST', body: JSON.stringify({ id, folder }) })
      assert.equal(r.status, 400, folder)
      assert.equal(r.body.error.code, 'BAD_FOLDER')
    }
    assert.deepEqual(await readdir(join(dir.path, 'outside')), [])
    await symlink(join(dir.path, 'nowhere'), join(dir.path, 'downloads/dangling'))
    assert.equal((await api(web, '/api/downloads', { method: 'POST', body: JSON.stringify({ id, folder: 'dangling/x' }) })).status, 400)
  })

  it('shows a running download live in the page, and cancels and resumes it there', { skip: noBrowser ?? false }, async () => {
    const browser = await launchBrowser()
    try {
      const page = await browser.context.newPage()
      await page.goto(`${web.server.url}?token=${web.server.token}`)
      await page.getByTestId('search-input').fill('slow')
      await page.getByTestId('folder-input').fill('again')
      await page.getByTestId('download-button').click()
      const card = page.locator('[data-testid=download-card][data-state=running]')
      await card.waitFor({ timeout: 15_000 })
      await card.locator('.chart canvas').waitFor({ timeout: 10_000 })
      assert.match(await card.getByTestId('rate').textContent() ?? '', /\/s$/)
      await page.screenshot({ path: join(SHOTS, 'peer-ui-downloading.png'), fullPage: true })
      await card.getByTestId('cancel-button').click()
      const cancelled = page.locator('[data-testid=download-card][data-state=cancelled]')
      await cancelled.waitFor({ timeout: 10_000 })
      await cancelled.getByTestId('resume-button').click()
      await page.locator('[data-testid=download-card][data-state=done]').first().waitFor({ timeout: 60_000 })
      assert.equal(await sha256File(join(dir.path, 'downloads/again/slow-movie.mkv')), await sha256File(join(dir.path, 'slow-share/slow-movie.mkv')))
    } finally {
      await browser.close()
    }
  })
})
