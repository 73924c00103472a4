// The peer web UI: shares, search, downloads (running in the peer), reachability.
import { render } from 'preact'
import { useState, useEffect, useRef, useMemo } from 'preact/hooks'
import { html, api, subscribe, formatBytes, formatDuration, shortId, Chart } from './common.js'

function App () {
  const [status, setStatus] = useState(null)
  const [downloads, setDownloads] = useState([])
  const [connected, setConnected] = useState(false)
  const [error, setError] = useState(null)
  useEffect(() => subscribe('/api/events', {
    status: setStatus,
    downloads: d => setDownloads(d.downloads)
  }, setConnected), [])
  const start = async (id, name, folder) => {
    setError(null)
    try {
      await api('/api/downloads', { method: 'POST', body: JSON.stringify({ id, name, folder }) })
    } catch (err) { setError(err.message) }
  }
  return html`
    <header>
      <h1>FileShare <span class="muted">peer</span></h1>
      ${status != null && html`<${PeerBadge} status=${status} />`}
      <span class=${`dot ${connected ? 'on' : 'off'}`} title=${connected ? 'live updates connected' : 'reconnecting…'}></span>
    </header>
    ${error != null && html`<div class="error" data-testid="error" onClick=${() => setError(null)}>${error}</div>`}
    <main>
      <${Search} onDownload=${start} status=${status} />
      <${Downloads} downloads=${downloads} onError=${setError} />
      <${Shares} status=${status} />
    </main>`
}

function PeerBadge ({ status }) {
  const r = status.reachability
  return html`
    <div class="peer">
      <span title=${status.peerId}>${shortId(status.peerId)}</span>
      <span class=${`badge r-${r.reachability}`} data-testid="reachability" title=${r.addrs.join('\n')}>${r.reachability}</span>
      ${status.master == null
        ? html`<span class="badge wait">no master</span>`
        : status.share != null && html`<span class=${`badge ${status.registered ? 'ok' : 'wait'}`}>${status.registered ? 'registered' : 'registering…'}</span>`}
    </div>`
}

function Search ({ onDownload, status }) {
  const [q, setQ] = useState('')
  const [results, setResults] = useState(null)
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState(null)
  const [folder, setFolder] = useState('')
  const [folders, setFolders] = useState([])
  const seq = useRef(0)
  useEffect(() => { api('/api/folders').then(r => setFolders(r.folders)).catch(() => {}) }, [])
  useEffect(() => {
    const words = q.trim()
    if (words === '') { setResults(null); setMessage(null); return }
    const mine = ++seq.current
    const timer = setTimeout(async () => {
      setBusy(true)
      try {
        const r = await api(`/api/search?q=${encodeURIComponent(words)}`)
        if (mine === seq.current) { setResults(r.results); setMessage(null) }
      } catch (err) {
        if (mine === seq.current) { setResults([]); setMessage(err.message) }
      } finally { if (mine === seq.current) setBusy(false) }
    }, 200)
    return () => clearTimeout(timer)
  }, [q])
  return html`
    <section>
      <h2>Search the swarm</h2>
      <div class="row">
        <input class="grow" type="search" placeholder="words of a file name or folder…" value=${q} onInput=${e => setQ(e.target.value)} data-testid="search-input" autofocus />
        ${busy && html`<span class="muted">searching…</span>`}
      </div>
      <div class="row small">
        <label>save into <code>${status?.downloads?.folder ?? 'downloads'}/</code>
          <input list="folders" value=${folder} onInput=${e => setFolder(e.target.value)} placeholder="(the downloads folder itself)" data-testid="folder-input" />
        </label>
        <datalist id="folders">${folders.map(f => html`<option value=${f} />`)}</datalist>
      </div>
      ${message != null && html`<p class="error">${message}</p>`}
      ${results != null && (results.length === 0 && message == null
        ? html`<p class="muted">no shared file matches</p>`
        : html`<table class="results"><thead><tr><th>name</th><th>path</th><th class="num">size</th><th class="num">providers</th><th></th></tr></thead>
            <tbody>${results.map(r => html`
              <tr data-testid="result-row" data-id=${r.id}>
                <td>${r.name}</td><td class="muted path">${r.path}</td><td class="num">${formatBytes(r.size)}</td><td class="num" title=${r.seeders != null ? `${r.seeders} with the whole file, ${r.providers - r.seeders} downloading it` : ''}>${r.providers}${r.seeders != null && r.seeders < r.providers ? html` <span class="muted">(${r.seeders} complete)</span>` : ''}</td>
                <td><button data-testid="download-button" onClick=${() => onDownload(r.id, r.name, folder)}>download</button></td>
              </tr>`)}
            </tbody></table>`)}
    </section>`
}

function Downloads ({ downloads, onError }) {
  const act = async (key, action) => {
    try {
      if (action === 'remove') await api(`/api/downloads/${key}`, { method: 'DELETE' })
      else await api(`/api/downloads/${key}/${action}`, { method: 'POST' })
    } catch (err) { onError(err.message) }
  }
  return html`
    <section>
      <h2>Downloads</h2>
      ${downloads.length === 0 && html`<p class="muted">none yet: search above and pick a file</p>`}
      ${downloads.map(d => html`<${Download} key=${d.key} d=${d} act=${act} />`)}
    </section>`
}

function Download ({ d, act }) {
  const pct = d.total != null && d.total > 0 ? Math.floor(d.bytes / d.total * 100) : (d.state === 'done' ? 100 : 0)
  const running = ['starting', 'checking', 'running'].includes(d.state)
  const chart = useMemo(() => [d.rateHistory.map(p => p[0] / 1000), d.rateHistory.map(p => p[1])], [d.rateHistory.length, d.rateHistory.at(-1)?.[0]])
  return html`
    <div class="card download" data-testid="download-card" data-state=${d.state} data-key=${d.key}>
      <div class="row">
        <strong class="grow" title=${d.id ?? ''}>${d.name}</strong>
        <span class=${`badge s-${d.state}`} data-testid="download-state">${d.state}</span>
        ${running && html`<button onClick=${() => act(d.key, 'cancel')} data-testid="cancel-button">cancel</button>`}
        ${(d.state === 'cancelled' || d.state === 'failed') && html`<button onClick=${() => act(d.key, 'resume')} data-testid="resume-button">resume</button>`}
        ${!running && html`<button class="quiet" onClick=${() => act(d.key, 'remove')} title="forget (part files stay for a later resume)">×</button>`}
      </div>
      <div class="progress"><div class="bar" style=${`width:${pct}%`}></div></div>
      <div class="row small">
        <span data-testid="progress-text">${pct} %</span>
        <span>${formatBytes(d.bytes)}${d.total != null ? ` of ${formatBytes(d.total)}` : ''}</span>
        ${running && html`<span data-testid="rate">${formatBytes(d.rate)}/s</span><span>ETA ${formatDuration(d.eta)}</span>`}
        ${d.state === 'done' && d.finishedAt != null && html`<span>${formatBytes(d.rate)}/s on average, ${formatDuration((d.finishedAt - d.startedAt) / 1000)}</span>`}
        ${d.resumedBytes > 0 && html`<span class="muted">${formatBytes(d.resumedBytes)} resumed</span>`}
        ${d.partialBytes > 0 && html`<span class="muted">${formatBytes(d.partialBytes)} from other downloaders</span>`}
        ${d.uploadedBytes > 0 && html`<span class="muted">${formatBytes(d.uploadedBytes)} served to others</span>`}
        <span class="muted">into ${d.folder == null ? '(command line)' : `downloads/${d.folder}`}</span>
      </div>
      ${d.state === 'done' && html`<div class="small ok-text" data-testid="verified">✓ verified against ${shortId(d.id)}: ${d.path}</div>`}
      ${d.error != null && html`<div class="small error">${d.error.code}: ${d.error.message}</div>`}
      ${running && d.rateHistory.length > 1 && html`<${Chart} data=${chart} series=${['rate']} height=${90} windowSeconds=${60} format=${v => `${formatBytes(v)}/s`} />`}
      ${d.providers.length > 0 && html`
        <table class="providers small"><thead><tr><th>provider</th><th>path</th><th class="num">bytes</th><th class="num">relayed</th><th>has</th></tr></thead>
          <tbody>${d.providers.map(p => html`<tr data-testid="provider-row"><td title=${p.peer}>${shortId(p.peer)}</td><td><span class=${`badge p-${p.path}`}>${p.path}</span></td>
            <td class="num">${formatBytes(p.bytes)}</td><td class="num">${formatBytes(p.relayedBytes ?? 0)}</td><td>${p.complete ? 'complete' : 'partial'}</td></tr>`)}
          </tbody></table>`}
      ${d.dropped.length > 0 && html`<details class="small"><summary>${d.dropped.length} provider(s) dropped</summary>${d.dropped.map(x => html`<div>${shortId(x.peer)}: ${x.reason}</div>`)}</details>`}
    </div>`
}

function Shares ({ status }) {
  const [filter, setFilter] = useState('')
  const [files, setFiles] = useState(null)
  const share = status?.share
  // again when the share changes, and every 2 s while uploads run (their per-file counts)
  const uploading = (status?.uploads?.active ?? 0) > 0
  const key = `${share?.files}:${share?.pending}:${share?.bytes}:${filter}:${uploading ? Math.floor(Date.now() / 2000) : status?.uploads?.servedBytes}`
  useEffect(() => {
    if (share == null) return
    const timer = setTimeout(() => {
      api(`/api/files?limit=500&q=${encodeURIComponent(filter)}`).then(setFiles).catch(() => {})
    }, 150)
    return () => clearTimeout(timer)
  }, [key])
  if (status == null) return null
  if (share == null) return html`<section><h2>Shared</h2><p class="muted">this peer shares no folder</p></section>`
  return html`
    <section>
      <h2>Shared <span class="muted small">${share.folder ?? '(seeded downloads)'}</span></h2>
      <div class="row small" data-testid="share-summary">
        <span><strong>${share.files}</strong> files, ${formatBytes(share.bytes)}</span>
        ${share.pending > 0 ? html`<span class="badge wait">${share.pending} waiting to be hashed</span>` : html`<span class="badge ok">all hashed</span>`}
        <span>uploads now: <strong data-testid="uploads-active">${status.uploads.active}</strong></span>
        <span>served: ${formatBytes(status.uploads.servedBytes)}</span>
        <input class="grow" type="search" placeholder="filter…" value=${filter} onInput=${e => setFilter(e.target.value)} />
      </div>
      ${files != null && html`
        <table class="files"><thead><tr><th>path</th><th class="num">size</th><th class="num">served</th><th></th></tr></thead>
          <tbody>${files.files.map(f => html`<tr data-testid="shared-row"><td class="path" title=${f.id}>${f.path}</td><td class="num">${formatBytes(f.size)}</td>
            <td class="num">${f.uploads.bytes > 0 ? formatBytes(f.uploads.bytes) : ''}</td><td>${f.uploads.active ? html`<span class="badge up">uploading</span>` : ''}</td></tr>`)}
          </tbody></table>
        ${files.total > files.files.length && html`<p class="muted small">${files.total - files.files.length} more (filter to narrow)</p>`}`}
    </section>`
}

render(html`<${App} />`, document.getElementById('app'))
