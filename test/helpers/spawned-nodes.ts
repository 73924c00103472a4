/**
 * Real processes of dist/master.js and dist/peer.js for tests: spawn with --json, wait for
 * the `ready` event, kill by pid (SIGKILL or SIGTERM) and wait for the exit.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface Proc {
  child: ChildProcess
  /** the `ready` event */
  ready: Record<string, any>
  events: Array<Record<string, any>>
  stderr: () => string
  kill: (signal?: NodeJS.Signals) => Promise<number | null>
}

export async function spawnNode (script: 'master' | 'peer', args: string[], timeoutMs = 20_000): Promise<Proc> {
  const child = spawn(process.execPath, [`${ROOT}dist/${script}.js`, ...args, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const events: Array<Record<string, any>> = []
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => { resolve(code) }))
  const ready = await new Promise<Record<string, any>>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${script} not ready in ${timeoutMs} ms: ${err}`)) }, timeoutMs)
    createInterface({ input: child.stdout! }).on('line', line => {
      let event: Record<string, any>
      try { event = JSON.parse(line) } catch { return }
      events.push(event)
      if (event.event === 'ready') { clearTimeout(timer); resolve(event) }
    })
    void exited.then(code => { clearTimeout(timer); reject(new Error(`${script} exited with ${code}: ${err}`)) })
  })
  return {
    child,
    ready,
    events,
    stderr: () => err,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode == null && child.signalCode == null) child.kill(signal)
      return await exited
    }
  }
}

/** A TCP port that was free a moment ago (for a master restarted on the same address). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as any).port
      server.close(() => { resolve(port) })
    })
  })
}
