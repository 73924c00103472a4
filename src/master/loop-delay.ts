/**
 * An event-loop-delay trace of the master, for benches and diagnosis: with the debug
 * namespace `fileshare:master:loop` enabled (DEBUG=fileshare:master:loop), the loop's delay
 * histogram (perf_hooks.monitorEventLoopDelay) is logged every few seconds (p50/p99/max ms)
 * and reset, with the garbage collector's pauses over the same time (count, total, longest). Off (nothing sampled) unless the namespace is enabled.
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { logger } from '@libp2p/logger'

const log = logger('fileshare:master:loop')

/** How often the histogram is logged and reset, ms. */
const REPORT_MS = 5_000

/** Starts the trace when its namespace is enabled; returns a stop function. */
export function traceLoopDelay (): () => void {
  if (!log.enabled) return () => {}
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  const ms = (ns: number): string => (ns / 1e6).toFixed(1)
  const gc = { count: 0, totalMs: 0, maxMs: 0 }
  const gcObserver = new PerformanceObserver(list => {
    for (const e of list.getEntries()) {
      gc.count++
      gc.totalMs += e.duration
      gc.maxMs = Math.max(gc.maxMs, e.duration)
    }
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const timer = setInterval(() => {
    log('event loop delay over %d s: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms; GC: %d pauses, %s ms in all, longest %s ms', REPORT_MS / 1000,
      ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)), ms(h.max), gc.count, gc.totalMs.toFixed(0), gc.maxMs.toFixed(1))
    h.reset()
    Object.assign(gc, { count: 0, totalMs: 0, maxMs: 0 })
  }, REPORT_MS)
  timer.unref()
  return () => {
    clearInterval(timer)
    h.disable()
    gcObserver.disconnect()
  }
}
