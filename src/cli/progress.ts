/**
 * How `get` shows progress without --json, on stderr.
 *
 * On a terminal: one line redrawn in place that fits the terminal's width (the label is
 * shortened first; no line-wrap tricks), moving from bytes received while chunks are still
 * being verified. Rate and ETA come from a moving window (RATE_WINDOW_MS) of this run's
 * bytes only (resumed bytes are not counted as speed); before there is enough to measure
 * they show `--`. Without a terminal: a plain line every TEXT_INTERVAL_MS.
 */
import { formatBytes } from './output.js'

/** The moving window of the rate. */
export const RATE_WINDOW_MS = 5000
/** A rate is shown once samples span this long. */
const RATE_MIN_SPAN_MS = 1000
/** Without a terminal, a progress line this often. */
export const TEXT_INTERVAL_MS = 5000
/** Redraws at most this often on a terminal. */
const REDRAW_MS = 100

export function formatDuration (seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--'
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

/** Bytes per second over a moving window of (time, bytes) samples. */
export class MovingRate {
  private readonly samples: Array<{ t: number, bytes: number }> = []
  constructor (private readonly windowMs = RATE_WINDOW_MS) {}

  add (t: number, bytes: number): void {
    this.samples.push({ t, bytes })
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift()
  }

  /** null until the samples span RATE_MIN_SPAN_MS */
  rate (): number | null {
    if (this.samples.length < 2) return null
    const first = this.samples[0]
    const last = this.samples[this.samples.length - 1]
    const span = last.t - first.t
    if (span < RATE_MIN_SPAN_MS) return null
    return Math.max(0, (last.bytes - first.bytes) / (span / 1000))
  }
}

export interface ProgressView {
  label: string
  shown: number
  total: number
  rate: number | null
  providers: number
}

/** One terminal line of at most `width` columns. */
export function renderLine (view: ProgressView, width: number): string {
  const pct = view.total === 0 ? 100 : Math.floor(view.shown / view.total * 100)
  const eta = view.rate != null && view.rate > 0 ? formatDuration((view.total - view.shown) / view.rate) : '--'
  const rate = view.rate != null ? `${formatBytes(view.rate)}/s` : '--/s'
  const parts = [
    `${String(pct).padStart(3)}%`,
    `${formatBytes(view.shown)}/${formatBytes(view.total)}`,
    rate,
    `ETA ${eta}`,
    `${view.providers}p`
  ]
  // drop the least important parts when the terminal is narrow
  let tail = parts.join(' ')
  for (const drop of [1, 4]) {
    if (tail.length + 12 <= width) break
    parts[drop] = ''
    tail = parts.filter(p => p !== '').join(' ')
  }
  let room = width - tail.length - 1
  const barWidth = room >= 30 ? Math.min(30, Math.floor(room / 3)) : 0
  room -= barWidth > 0 ? barWidth + 3 : 0
  const label = shorten(view.label, Math.max(0, room))
  const filled = Math.round(barWidth * Math.min(1, pct / 100))
  const bar = barWidth > 0 ? ` [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]` : ''
  return `${label}${bar} ${tail}`.slice(0, Math.max(0, width))
}

function shorten (text: string, max: number): string {
  if (text.length <= max) return text
  if (max <= 1) return ''
  const keep = max - 1
  const head = Math.ceil(keep / 2)
  return `${text.slice(0, head)}…${text.slice(text.length - (keep - head))}`
}

export class ProgressReporter {
  private readonly tty: boolean
  private readonly enabled: boolean
  private readonly speed = new MovingRate()
  private resumedBytes = 0
  private drawn = false
  private lastDraw = 0
  private lastText = Date.now()
  private providers = 0
  private shown = 0
  /** verified bytes so far (resumed ones included) */
  verified = 0
  total = 0

  constructor (private readonly label: string, json: boolean, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = !json
    this.tty = this.enabled && stream.isTTY === true
  }

  resumed (bytes: number): void {
    this.resumedBytes = bytes
  }

  update (verified: number, total: number, providers: number, received: number): void {
    const now = Date.now()
    this.verified = verified
    this.total = total
    this.providers = providers
    this.shown = Math.min(total, Math.max(verified, received))
    // this run's bytes only: what an earlier run left is not speed
    this.speed.add(now, Math.max(0, this.shown - this.resumedBytes))
    if (!this.enabled) return
    const complete = verified >= total
    if (this.tty) {
      if (complete || now - this.lastDraw >= REDRAW_MS) this.draw(now)
    } else if (now - this.lastText >= TEXT_INTERVAL_MS) {
      this.lastText = now
      const rate = this.speed.rate()
      const eta = rate != null && rate > 0 ? formatDuration((total - this.shown) / rate) : '--'
      this.stream.write(`${this.label}: ${total === 0 ? 100 : Math.floor(this.shown / total * 100)}% ${formatBytes(this.shown)} of ${formatBytes(total)}, ${rate != null ? `${formatBytes(rate)}/s` : '--/s'}, ETA ${eta}, ${providers} provider(s)\n`)
    }
  }

  /** A line of its own (the bar is redrawn below it). */
  note (text: string): void {
    if (!this.enabled) return
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K')
    this.stream.write(text + '\n')
    if (this.tty && this.drawn) this.draw(Date.now())
  }

  private draw (now: number): void {
    this.lastDraw = now
    this.drawn = true
    const width = Math.max(20, (this.stream.columns ?? 80) - 1)
    this.stream.write(`\r${renderLine({ label: this.label, shown: this.shown, total: this.total, rate: this.speed.rate(), providers: this.providers }, width)}\x1b[K`)
  }

  stop (): void {
    if (this.tty && this.drawn) this.stream.write('\n')
    this.drawn = false
  }
}
