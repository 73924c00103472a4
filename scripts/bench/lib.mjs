// Shared by the bench scripts: start a node process and wait for its JSON lines, stop it,
// medians and percentiles. Every process started here is SIGKILLed when the script exits.
import { spawn, execFileSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { join } from 'node:path'

export const ROOT = new URL('../../', import.meta.url).pathname
export const MASTER_JS = join(ROOT, 'dist/master.js')
export const PEER_JS = join(ROOT, 'dist/peer.js')

const running = new Set()
process.on('exit', () => { for (const child of running) child.kill('SIGKILL') })

/**
 * Starts `node ...args` (cwd: the repository root) and collects its stdout JSON lines.
 * options:
 *   wrap      command words before node, e.g. ['ip', 'netns', 'exec', 'ns1']
 *   nodeArgs  options for node itself (e.g. --cpu-prof)
 *   stdin     true: a pipe for send(obj)
 *   stderr    'pipe' (kept, quoted when the process ends early; default), 'inherit' or 'ignore'
 * Returns { child, events, stderr(), next(match, what), exited, send(obj), stop(signal) }:
 *   next(match) resolves with the first line (printed already or to come) that matches:
 *   `match` is a predicate or a name compared with `event` and `phase`; it rejects when the
 *   process ends first. `exited` resolves with the exit code once stdout is read to its end.
 */
export function start (args, { wrap = [], nodeArgs = [], stdin = false, stderr = 'pipe' } = {}) {
  const [command, ...rest] = [...wrap, process.execPath, ...nodeArgs, ...args]
  const child = spawn(command, rest, { cwd: ROOT, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', stderr] })
  running.add(child)
  const name = args.find(a => a.endsWith('.js') || a.endsWith('.mjs'))?.split('/').at(-1) ?? args[0]
  const events = []
  const waiters = []
  let errText = ''
  child.stderr?.setEncoding('utf8').on('data', d => { errText = (errText + d).slice(-4000) })
  createInterface({ input: child.stdout }).on('line', line => {
    let e
    try { e = JSON.parse(line) } catch { return }
    events.push(e)
    for (const w of [...waiters]) if (w.pred(e)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(e) }
  })
  const exited = new Promise(resolve => child.on('close', (code, signal) => {
    running.delete(child)
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${code ?? signal}) before ${w.what}${errText !== '' ? `: ${errText.trim()}` : ''}`))
    resolve(code)
  }))
  return {
    child,
    events,
    exited,
    stderr: () => errText,
    next: (match, what) => {
      const pred = typeof match === 'function' ? match : e => e.event === match || e.phase === match
      what ??= typeof match === 'function' ? 'the expected event' : `'${match}'`
      const hit = events.find(pred)
      if (hit != null) return Promise.resolve(hit)
      if (!running.has(child)) return Promise.reject(new Error(`${name} exited (${child.exitCode}) before ${what}${errText !== '' ? `: ${errText.trim()}` : ''}`))
      return new Promise((resolve, reject) => waiters.push({ pred, resolve, reject, what }))
    },
    send: obj => child.stdin.write(JSON.stringify(obj) + '\n'),
    stop: async (signal = 'SIGTERM') => {
      if (running.has(child)) child.kill(signal)
      return await exited
    }
  }
}

/** Runs `node ...args` to its end: { code, events, stderr }. */
export async function runToEnd (args, options) {
  const p = start(args, options)
  const code = await p.exited
  return { code, events: p.events, stderr: p.stderr() }
}

/** Sends `signal` to every process started here that is still running, and waits for them. */
export async function stopAll (signal = 'SIGKILL') {
  await Promise.all([...running].map(async child => {
    const closed = new Promise(resolve => child.once('close', resolve))
    child.kill(signal)
    await closed
  }))
}

/** The median (the mean of the two middle values for an even count). */
export function median (xs) {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** The p-th quantile (0 ≤ p ≤ 1) by the nearest rank below. */
export function percentile (xs, p) {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]
}

/** `addr` ending in /p2p/<peerId> (ready events list addresses with it; older ones did not). */
export function withPeerId (addr, peerId) {
  return addr.includes('/p2p/') ? addr : `${addr}/p2p/${peerId}`
}

/** Runs a command (root: ip, tc) and returns its stdout; throws when it fails. */
export const sh = (...args) => execFileSync(args[0], args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString()
export const inNs = (ns, ...args) => sh('ip', 'netns', 'exec', ns, ...args)

/**
 * A star of network namespaces on one bridge (multi-source and flash-crowd benches): the
 * namespace `hub` holds bridge br0 (no uplink); every namespace of `ips` ({ ns: address })
 * gets eth0 with that /24 address, and `shaped(ns)` true limits its upload with tc tbf
 * (`rate`, burst 64 kb, `latency`). Returns { down, reshape(ns, rate) }; up() removes an
 * old star of the same names first, down() removes it (both synchronous: also on exit).
 */
export function netnsStar ({ hub, ips, shaped, rate, latency = '50ms' }) {
  const names = [hub, ...Object.keys(ips)]
  const tbf = r => ['tbf', 'rate', r, 'burst', '64kb', 'latency', latency]
  const down = () => { for (const ns of names) { try { sh('ip', 'netns', 'del', ns) } catch {} } }
  const up = () => {
    down()
    for (const ns of names) sh('ip', 'netns', 'add', ns)
    inNs(hub, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
    inNs(hub, 'ip', 'link', 'set', 'br0', 'up')
    for (const [ns, addr] of Object.entries(ips)) {
      const port = `p-${ns.slice(ns.indexOf('-') + 1)}`
      sh('ip', 'link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', hub)
      inNs(hub, 'ip', 'link', 'set', port, 'master', 'br0')
      inNs(hub, 'ip', 'link', 'set', port, 'up')
      inNs(ns, 'ip', 'addr', 'add', `${addr}/24`, 'dev', 'eth0')
      inNs(ns, 'ip', 'link', 'set', 'eth0', 'up')
      inNs(ns, 'ip', 'link', 'set', 'lo', 'up')
      if (shaped(ns)) inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', ...tbf(rate))
    }
  }
  const reshape = (ns, newRate) => { inNs(ns, 'tc', 'qdisc', 'change', 'dev', 'eth0', 'root', ...tbf(newRate)) }
  return { up, down, reshape }
}
