// Shared by the peer UI and the master dashboard: preact + htm, uPlot charts, the API.
import { h } from 'preact'
import { useEffect, useRef } from 'preact/hooks'
import htm from 'htm'
import uPlot from 'uplot'

export const html = htm.bind(h)

/** A JSON API call (the cookie set from ?token= authenticates it). */
export async function api (path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { 'Content-Type': 'application/json', ...(options.headers ?? {}) },
    credentials: 'same-origin'
  })
  const body = await res.json().catch(() => null)
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`)
  return body
}

/** Server-sent events: calls handlers[event](data); reconnects by itself (EventSource does). */
export function subscribe (path, handlers, onState) {
  const source = new EventSource(path)
  for (const [event, handler] of Object.entries(handlers)) {
    source.addEventListener(event, e => handler(JSON.parse(e.data)))
  }
  source.onopen = () => onState?.(true)
  source.onerror = () => onState?.(false)
  return () => source.close()
}

export function formatBytes (n) {
  if (n == null) return '–'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`
}

export function formatDuration (s) {
  if (s == null || !Number.isFinite(s)) return '–'
  if (s < 10) return `${s.toFixed(1)} s`
  s = Math.round(s)
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

export function shortId (id) {
  return id == null ? '' : `…${id.slice(-8)}`
}

/**
 * A small uPlot line chart. `data` is [xs, ys1, ys2, …] with xs in unix seconds;
 * `series` names the lines. Resizes with its container.
 */
export function Chart ({ data, series, height = 90, format = v => String(v), testid, windowSeconds }) {
  const box = useRef(null)
  const plot = useRef(null)
  useEffect(() => {
    const width = Math.max(200, box.current.clientWidth || 300)
    const colors = ['#2f6fde', '#d9822b', '#1f9d55', '#c23030', '#8e44ad']
    plot.current = new uPlot({
      width,
      height,
      legend: { show: series.length > 1 },
      cursor: { show: false },
      scales: {
        // a sliding window (when given) keeps the time axis steady from the first points on
        x: { time: true, range: (u, min, max) => windowSeconds != null ? [Math.min(min, max - windowSeconds), max] : [min, max] },
        y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] }
      },
      axes: [
        { stroke: '#777', grid: { stroke: '#eee' }, size: 24, font: '10px sans-serif' },
        { stroke: '#777', grid: { stroke: '#eee' }, size: 64, space: 20, font: '10px sans-serif', values: (u, vals) => vals.map(format) }
      ],
      series: [{}, ...series.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 1.5, fill: i === 0 ? 'rgba(47,111,222,0.08)' : undefined, value: (u, v) => v == null ? '–' : format(v) }))]
    }, data, box.current)
    const resize = new ResizeObserver(() => {
      const w = box.current?.clientWidth
      if (w != null && w > 0) plot.current?.setSize({ width: w, height })
    })
    resize.observe(box.current)
    return () => { resize.disconnect(); plot.current?.destroy(); plot.current = null }
  }, [series.join(',')])
  useEffect(() => { plot.current?.setData(data) }, [data])
  return html`<div class="chart" ref=${box} data-testid=${testid}></div>`
}
