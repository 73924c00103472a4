// The master dashboard: live peers, the index, lookups and searches, the relay, refusals.
import { render } from 'preact'
import { useState, useEffect, useMemo } from 'preact/hooks'
import { html, subscribe, formatBytes, shortId, Chart } from './common.js'

function App () {
  const [o, setOverview] = useState(null)
  const [history, setHistory] = useState(null)
  const [peers, setPeers] = useState([])
  const [connected, setConnected] = useState(false)
  useEffect(() => subscribe('/api/events', {
    overview: setOverview,
    history: setHistory,
    peers: p => setPeers(p.peers)
  }, setConnected), [])
  return html`
    <header>
      <h1>FileShare <span class="muted">SwarmMaster</span></h1>
      ${o != null && html`<span class="peer" title=${o.addrs.join('\n')}>${shortId(o.peerId)}</span>`}
      <span class=${`dot ${connected ? 'on' : 'off'}`} title=${connected ? 'live updates connected' : 'reconnecting…'}></span>
    </header>
    <main>
      ${o != null && html`<${Tiles} o=${o} />`}
      ${history != null && html`<${Charts} h=${history} />`}
      <${Peers} peers=${peers} />
    </main>`
}

function Tile ({ label, value, sub, testid }) {
  return html`<div class="tile" data-testid=${testid}><div class="value">${value}</div><div class="label">${label}</div>${sub != null && html`<div class="sub">${sub}</div>`}</div>`
}

function Tiles ({ o }) {
  return html`
    <section class="tiles">
      <${Tile} testid="tile-peers" label="live peers" value=${o.peers.live} sub=${`${o.peers.direct} direct · ${o.peers.relayed} relayed`} />
      <${Tile} testid="tile-files" label="files indexed" value=${o.index.files} sub=${`${o.index.liveFiles} from live peers`} />
      <${Tile} testid="tile-ids" label="content ids" value=${o.index.ids} />
      <${Tile} label="lookups / s" value=${o.rates.lookups.toFixed(1)} sub=${`${o.totals.lookups} since start`} />
      <${Tile} label="searches / s" value=${o.rates.searches.toFixed(1)} sub=${`${o.totals.searches} since start`} />
      <${Tile} testid="tile-relay" label="relay reservations" value=${o.relay.reservations} sub=${`of ${o.relay.max}`} />
      <${Tile} label="relayed" value=${formatBytes(o.totals.relayedBytes)} sub=${`${formatBytes(o.rates.relayedBytes)}/s`} />
      <${Tile} label="refused" value=${o.totals.refused} sub=${`rate limit ${o.refused.rate_limit} · quota ${o.refused.quota} · relay ${o.refused.relay_refused}`} />
    </section>`
}

function Charts ({ h }) {
  const x = h.t
  const s = h.series
  const key = `${x.length}:${x.at(-1)}`
  const peers = useMemo(() => [x, s.livePeers, s.relayedPeers], [key])
  const lookups = useMemo(() => [x, s.lookups, s.searches], [key])
  const relayed = useMemo(() => [x, s.relayedBytes], [key])
  const refused = useMemo(() => [x, s.refused], [key])
  return html`
    <section class="charts">
      <div><h3>live peers</h3><${Chart} data=${peers} series=${['live', 'relayed']} testid="chart-peers" /></div>
      <div><h3>lookups and searches per second</h3><${Chart} data=${lookups} series=${['lookups/s', 'searches/s']} format=${v => v.toFixed(1)} /></div>
      <div><h3>relayed bytes per second</h3><${Chart} data=${relayed} series=${['relayed']} format=${v => `${formatBytes(v)}/s`} /></div>
      <div><h3>refused requests per second</h3><${Chart} data=${refused} series=${['refused/s']} format=${v => v.toFixed(2)} /></div>
      <p class="muted small">last hour, one point every ${h.stepSeconds} s</p>
    </section>`
}

function Peers ({ peers }) {
  return html`
    <section>
      <h2>Live peers (${peers.length})</h2>
      <table class="peers"><thead><tr><th>peer</th><th>reached</th><th class="num">files</th><th>addresses</th></tr></thead>
        <tbody>${peers.map(p => html`<tr data-testid="peer-row"><td title=${p.peer}>${p.peer}</td><td><span class=${`badge p-${p.path}`}>${p.path}</span></td>
          <td class="num">${p.files}</td><td class="muted small path">${p.addrs.slice(0, 3).join(' ')}</td></tr>`)}
        </tbody></table>
    </section>`
}

render(html`<${App} />`, document.getElementById('app'))
