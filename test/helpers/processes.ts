/**
 * Test helpers for the multi-process tests: run the built dist/master.js and dist/peer.js
 * as real processes, read their JSON lines, wait for events, and make sure every process
 * is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'

/** The repository root (the test build sits in build/test/helpers/). */
export const ROOT = ['../../../', '../../'].map(rel => fileURLToPath(new URL(rel, import.meta.url))).find(dir => existsSync(join(dir, 'package.json')))!
export const MASTER_JS = join(ROOT, 'dist/master.js')
export const PEER_JS = join(ROOT, 'dist/peer.js')

/** How long `next` waits for an event by default: long enough for a loaded machine, short enough to fail instead of hanging. */
export const EVENT_TIMEOUT_MS = 60_000

export interface Proc {
  child: ChildProcess
  /** every JSON line printed so far (a line that is not JSON becomes `{ event: 'text', line }`) */
  events: any[]
  /** everything printed so far, as is */
  stdout: () => string
  stderr: () => string
  /**
   * The first event (already printed or to come) that matches; rejects when the process
   * exits first or after `timeoutMs`.
   */
  next: (pred: (e: any) => boolean, what?: string, timeoutMs?: number) => Promise<any>
  /** resolves with the exit code (null when killed by a signal) once stdout and stderr are closed */
  exited: Promise<number | null>
  /** sends `signal` (default SIGKILL) unless the process already ended, and waits for the exit */
  kill: (signal?: NodeJS.Signals) => Promise<number | null>
}

const running = new Set<ChildProcess>()

/** Who a child process runs as (root only): another user, or root without some capabilities (`setpriv`, e.g. `['dac_override']`). */
export interface RunAs { uid?: number, gid?: number, dropCaps?: string[] }

/** Starts `node script args…` with a clean environment (no FILESHARE_MASTER or DEBUG unless given); `as` runs it as another user or with fewer capabilities (root only). */
export function run (script: string, args: string[], env: Record<string, string> = {}, as: RunAs = {}): Proc {
  const { FILESHARE_MASTER: _, DEBUG: __, ...base } = process.env
  const { dropCaps, ...user } = as
  const command = [process.execPath, script, ...args]
  if (dropCaps != null) command.unshift('setpriv', '--bounding-set', dropCaps.map(c => `-${c}`).join(','), '--')
  const child = spawn(command[0], command.slice(1), { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...user })
  running.add(child)
  const events: any[] = []
  const waiters: Array<{ pred: (e: any) => boolean, resolve: (e: any) => void, reject: (err: Error) => void, what: string }> = []
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf8').on('data', d => { stdout += d })
  child.stderr!.setEncoding('utf8').on('data', d => { stderr += d })
  createInterface({ input: child.stdout! }).on('line', line => {
    let event: any
    try { event = JSON.parse(line) } catch { event = { event: 'text', line } }
    events.push(event)
    for (const w of [...waiters]) {
      if (w.pred(event)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(event)
      }
    }
  })
  const exited = new Promise<number | null>(resolve => {
    child.on('close', code => {
      running.delete(child)
      for (const w of waiters.splice(0)) w.reject(new Error(`${script} exited (${code}) before ${w.what}; stderr: ${stderr.trim()}`))
      resolve(code)
    })
  })
  const ended = (): boolean => child.exitCode != null || child.signalCode != null
  return {
    child,
    events,
    stdout: () => stdout,
    stderr: () => stderr,
    next: async (pred, what = 'the expected event', timeoutMs = EVENT_TIMEOUT_MS) => {
      const hit = events.find(pred)
      if (hit != null) return hit
      if (!running.has(child)) throw new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before ${what}; stderr: ${stderr.trim()}`)
      let timer: NodeJS.Timeout | undefined
      try {
        return await new Promise((resolve, reject) => {
          const waiter = { pred, resolve, reject, what }
          waiters.push(waiter)
          timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1)
            reject(new Error(`${script}: no ${what} within ${timeoutMs} ms; stderr: ${stderr.trim()}`))
          }, timeoutMs)
        })
      } finally {
        clearTimeout(timer)
      }
    },
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (!ended()) child.kill(signal)
      return await exited
    }
  }
}

/** Runs a command to completion. */
export async function runToEnd (script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, events: any[], stdout: string, stderr: string }> {
  const p = run(script, args, env)
  const code = await p.exited
  return { code, events: p.events, stdout: p.stdout(), stderr: p.stderr() }
}

/** A started process and its `ready` event. */
export interface ReadyProc extends Proc {
  ready: Record<string, any>
}

/** Starts dist/master.js or dist/peer.js with `--json` and waits for its `ready` event (killing it when none comes). */
export async function spawnNode (script: 'master' | 'peer', args: string[], timeoutMs = EVENT_TIMEOUT_MS): Promise<ReadyProc> {
  const p = run(script === 'master' ? MASTER_JS : PEER_JS, [...args, '--json'])
  try {
    return Object.assign(p, { ready: await p.next(e => e.event === 'ready', `${script} ready`, timeoutMs) })
  } catch (err) {
    await p.kill()
    throw err
  }
}

/** SIGKILLs every process these helpers started that is still running, and waits for them. */
export async function killAll (): Promise<void> {
  await Promise.all([...running].map(async child => {
    const closed = new Promise(resolve => child.once('close', resolve))
    child.kill('SIGKILL')
    await closed
  }))
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for a master restarted on the same
 * address), below the kernel's ephemeral range: the test files running beside this one
 * listen on tcp/0, and the kernel could hand them a port from that range between the
 * master's kill and its restart.
 */
export async function freePort (): Promise<number> {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
  for (let attempt = 0; ephemeralLow > 11_000 && attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (ephemeralLow - 10_000))
    if (await listens(port) != null) return port
  }
  // no room below the range: one the kernel picks
  return (await listens(0))!
}

/** Whether `port` on 127.0.0.1 can be listened on (the port, or null), closing it again. */
async function listens (port: number): Promise<number | null> {
  return await new Promise(resolve => {
    const server = createServer()
    server.once('error', () => { resolve(null) })
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port
      server.close(() => { resolve(bound) })
    })
  })
}
