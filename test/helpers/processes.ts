/**
 * Test helpers for the multi-process tests: run the built dist/master.js and dist/peer.js
 * as real processes, read their JSON lines, and make sure every one is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { existsSync } from 'node:fs'

/** The repository root (the test build sits in build/test/helpers/). */
export const ROOT = ['../../../', '../../'].map(rel => fileURLToPath(new URL(rel, import.meta.url))).find(dir => existsSync(join(dir, 'package.json')))!
export const MASTER_JS = join(ROOT, 'dist/master.js')
export const PEER_JS = join(ROOT, 'dist/peer.js')

export interface Proc {
  child: ChildProcess
  events: any[]
  stderr: () => string
  /** the first event (already printed or to come) that matches; rejects when the process exits first */
  next: (pred: (e: any) => boolean, what?: string) => Promise<any>
  exited: Promise<number | null>
  kill: (signal?: NodeJS.Signals) => Promise<number | null>
}

const running = new Set<ChildProcess>()

/** Starts `node script args…` with a clean environment (no FILESHARE_MASTER unless given). */
export function run (script: string, args: string[], env: Record<string, string> = {}, as: { uid?: number, gid?: number } = {}): Proc {
  const { FILESHARE_MASTER: _, DEBUG: __, ...base } = process.env
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'], ...as })
  running.add(child)
  const events: any[] = []
  const waiters: Array<{ pred: (e: any) => boolean, resolve: (e: any) => void, reject: (err: Error) => void, what: string }> = []
  let stderr = ''
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
  return {
    child,
    events,
    stderr: () => stderr,
    next: async (pred, what = 'the expected event') => {
      const hit = events.find(pred)
      if (hit != null) return hit
      if (child.exitCode != null) throw new Error(`${script} exited (${child.exitCode}) before ${what}; stderr: ${stderr.trim()}`)
      return await new Promise((resolve, reject) => waiters.push({ pred, resolve, reject, what }))
    },
    exited,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode == null && child.signalCode == null) child.kill(signal)
      return await exited
    }
  }
}

/** Runs a command to completion. */
export async function runToEnd (script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, events: any[], stderr: string }> {
  const p = run(script, args, env)
  const code = await p.exited
  return { code, events: p.events, stderr: p.stderr() }
}

/** SIGKILLs every process these helpers started that is still running. */
export async function killAll (): Promise<void> {
  await Promise.all([...running].map(async child => {
    const closed = new Promise(resolve => child.once('close', resolve))
    child.kill('SIGKILL')
    await closed
  }))
}
