/**
 * The last hour of a few numbers, for the dashboards' small charts: every `stepMs` each
 * series reads its source; counters are kept as rates per second (differences of running
 * totals), gauges as they are.
 */
export interface SeriesSpec {
  /** 'rate': `read` returns a running total, the chart shows its increase per second */
  kind: 'rate' | 'gauge'
  read: () => number
}

export interface HistorySnapshot {
  /** unix seconds of each point */
  t: number[]
  series: Record<string, number[]>
}

export class History {
  private readonly t: number[] = []
  private readonly values = new Map<string, number[]>()
  private readonly last = new Map<string, number>()
  private lastAt = Date.now()
  private timer: NodeJS.Timeout | null = null
  private readonly capacity: number

  constructor (private readonly specs: Record<string, SeriesSpec>, private readonly stepMs = 10_000, spanMs = 3_600_000) {
    this.capacity = Math.ceil(spanMs / stepMs)
    for (const [name, spec] of Object.entries(specs)) {
      this.values.set(name, [])
      if (spec.kind === 'rate') this.last.set(name, spec.read())
    }
  }

  start (): void {
    if (this.timer != null) return
    this.sample()
    this.timer = setInterval(() => { this.sample() }, this.stepMs)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer != null) clearInterval(this.timer)
    this.timer = null
  }

  sample (): void {
    const now = Date.now()
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000)
    this.lastAt = now
    this.t.push(Math.round(now / 1000))
    for (const [name, spec] of Object.entries(this.specs)) {
      const value = spec.read()
      let point = value
      if (spec.kind === 'rate') {
        point = Math.max(0, (value - (this.last.get(name) ?? value)) / seconds)
        this.last.set(name, value)
      }
      this.values.get(name)!.push(Math.round(point * 1000) / 1000)
    }
    if (this.t.length > this.capacity) {
      this.t.shift()
      for (const v of this.values.values()) v.shift()
    }
  }

  snapshot (): HistorySnapshot {
    return { t: [...this.t], series: Object.fromEntries([...this.values].map(([k, v]) => [k, [...v]])) }
  }
}
