/**
 * NAT scenarios in real network namespaces (scripts/natlab.sh): the master public,
 * peer1 and peer2 behind two different NATs (port-restricted, firewalled), peer3 public.
 * Every node is a real process (`ip netns exec fs…-NODE node dist/peer.js … --json`);
 * every check compares bytes and the path (direct / relayed) the downloading peer reports.
 * Needs root, ip, tc and iptables (or nft): skipped with the reason otherwise, except
 * under CI=true where missing prerequisites fail.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdir, chmod } from 'node:fs/promises'
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir, writeRandomFile, sameFile } from '../helpers/swarm.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const NATLAB = join(ROOT, 'scripts/natlab.sh')
const PREFIX = 'fsnt'
const MASTER_LISTEN = '/ip4/198.18.0.10/tcp/4001'
const MiB = 1024 * 1024
const IN_CI = process.env.CI === 'true' || process.env.CI === '1'

function missingPrerequisite (): string | null {
  if (process.getuid?.() !== 0) return 'NAT tests need root (network namespaces)'
  const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
  for (const cmd of ['ip', 'tc']) if (!has(cmd)) return `NAT tests need \`${cmd}\` (apt-get install -y iproute2)`
  if (!has('iptables-restore') && !has('nft')) return 'NAT tests need iptables or nftables (apt-get install -y iptables)'
  return null
}

const missing = missingPrerequisite()
if (missing != null && !IN_CI) console.log(`# skipping NAT tests: ${missing}`)

function natlab (...args: string[]): void {
  const res = spawnSync('bash', [NATLAB, ...args], { env: { ...process.env, NATLAB_PREFIX: PREFIX }, encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`natlab.sh ${args.join(' ')} failed: ${res.stderr}`)
}

/** A node process inside a namespace, with its --json events. */
class NodeProcess {
  readonly events: any[] = []
  readonly exited: Promise<number>
  private readonly waiters = new Set<() => void>()
  private stderr = ''

  constructor (readonly node: string, script: string, args: string[]) {
    const child: ChildProcess = spawn('ip', ['netns', 'exec', `${PREFIX}-${node}`, process.execPath, join(ROOT, 'dist', script), ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    let buffered = ''
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      buffered += text
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        try { this.events.push(JSON.parse(line)) } catch { this.stderr += `(stdout) ${line}\n` }
        for (const w of this.waiters) w()
      }
    })
    // NAT_TEST_LOGS=DIR keeps every process's stderr (run with DEBUG=fileshare:* for details)
    const logFile = process.env.NAT_TEST_LOGS != null ? join(process.env.NAT_TEST_LOGS, `${node}-${script}-${child.pid}.log`) : null
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-4000)
      if (logFile != null) appendFileSync(logFile, text)
    })
    this.exited = new Promise(resolve => child.on('exit', code => {
      resolve(code ?? 1)
      for (const w of this.waiters) w()
    }))
  }

  private readonly child: ChildProcess

  /** The first event matching `match` (waits for it; fails after `timeoutMs` or when the process exits first). */
  async event (match: (e: any) => boolean, timeoutMs = 20_000, what = 'event'): Promise<any> {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const found = this.events.find(match)
      if (found != null) return found
      if (this.child.exitCode != null || Date.now() > deadline) {
        throw new Error(`${this.node}: no ${what} (exit ${this.child.exitCode}); events ${JSON.stringify(this.events.filter(e => e.event !== 'progress')).slice(0, 2000)}; stderr ${this.stderr}`)
      }
      await new Promise<void>(resolve => {
        const t = setTimeout(done, 250)
        const self = this
        function done (): void { clearTimeout(t); self.waiters.delete(done); resolve() }
        this.waiters.add(done)
      })
    }
  }

  async stop (): Promise<void> {
    if (this.child.exitCode != null || this.child.signalCode != null) return
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await this.exited
    clearTimeout(timer)
  }

  get log (): string {
    return this.stderr
  }
}

/** Runs `peer.js get …` inside `node`'s namespace to completion. */
async function get (node: string, target: string, master: string, out: string): Promise<{ code: number, done: any, events: any[], log: string }> {
  const p = new NodeProcess(node, 'peer.js', ['get', target, '--master', master, '--out', out])
  const timer = setTimeout(() => { void p.stop() }, 60_000)
  const code = await p.exited
  clearTimeout(timer)
  return { code, done: p.events.find(e => e.event === 'done'), events: p.events, log: p.log }
}

describe('NAT lab: master public, peer1 and peer2 behind two NATs, peer3 public', { skip: missing != null && !IN_CI ? missing : false }, () => {
  let dir: { path: string, cleanup: () => Promise<void> }
  let master: NodeProcess
  let peer1: NodeProcess
  let peer3: NodeProcess
  let masterAddr: string
  let peer1Id: string
  let peer3Id: string
  const procs: NodeProcess[] = []
  const share1 = (): string => join(dir.path, 'share1')
  const share3 = (): string => join(dir.path, 'share3')

  async function startMaster (): Promise<NodeProcess> {
    const m = new NodeProcess('master', 'master.js', ['--listen', MASTER_LISTEN, '--data', join(dir.path, 'master')])
    procs.push(m)
    const ready = await m.event(e => e.event === 'ready', 20_000, 'master ready')
    masterAddr = ready.addrs.find((a: string) => a.startsWith(MASTER_LISTEN))
    return m
  }

  before(async () => {
    if (missing != null) throw new Error(`CI=true but ${missing}`)
    natlab('up')
    dir = await tempDir('fileshare-nat-')
    await chmod(dir.path, 0o755)
    await mkdir(share1())
    await mkdir(share3())
    await writeRandomFile(join(share1(), 'behind-nat.bin'), 6 * MiB + 123)
    await writeRandomFile(join(share1(), 'upgrade.bin'), 24 * MiB)
    await writeRandomFile(join(share3(), 'public.bin'), 3 * MiB + 7)
    master = await startMaster()
    peer1 = new NodeProcess('peer1', 'peer.js', ['--share', share1(), '--master', masterAddr, '--data', join(dir.path, 'peer1')])
    peer3 = new NodeProcess('peer3', 'peer.js', ['--share', share3(), '--master', masterAddr, '--data', join(dir.path, 'peer3')])
    procs.push(peer1, peer3)
    peer1Id = (await peer1.event(e => e.event === 'ready', 30_000, 'peer1 ready')).peerId
    peer3Id = (await peer3.event(e => e.event === 'ready', 30_000, 'peer3 ready')).peerId
  })

  after(async () => {
    for (const p of procs) await p.stop().catch(() => {})
    try { natlab('down') } catch (err) { console.log(`# ${(err as Error).message}`) }
    await dir?.cleanup()
  })

  it('peer1 (NAT) reserves a relay slot on the master; peer3 is found public by the dial-back', async () => {
    const ready1 = peer1.events.find(e => e.event === 'ready')
    assert.equal(ready1.reachability, 'relayed', JSON.stringify(ready1))
    assert.ok(ready1.reachableAddrs.length > 0)
    for (const a of ready1.reachableAddrs) assert.ok(a.startsWith(`${masterAddr}/p2p-circuit`), a)
    assert.ok(ready1.addrs.some((a: string) => a.includes('/p2p-circuit')), 'the relayed address is among its addresses')
    const ready3 = peer3.events.find(e => e.event === 'ready')
    assert.equal(ready3.reachability, 'public', JSON.stringify(ready3))
    assert.ok(ready3.reachableAddrs.some((a: string) => a.startsWith('/ip4/198.18.0.30/tcp/')), ready3.reachableAddrs.join())
  })

  it('peer2 (behind another NAT) fetches a file only peer1 shares, through the relay', async () => {
    const out = join(dir.path, 'out2')
    const res = await get('peer2', 'behind-nat.bin', masterAddr, out)
    assert.equal(res.code, 0, res.log)
    assert.ok(await sameFile(join(out, 'behind-nat.bin'), join(share1(), 'behind-nat.bin')))
    assert.deepEqual(res.done.providers.map((p: any) => [p.peer, p.path, p.bytes]), [[peer1Id, 'relayed', 6 * MiB + 123]])
    const progress = res.events.filter(e => e.event === 'progress' && e.providers.length > 0)
    assert.ok(progress.length > 0 && progress.every(e => e.providers.every((p: any) => p.peer === peer1Id && p.path === 'relayed')))
  })

  it('peer3 (public) fetches from peer1: starts relayed, moves to a direct connection once peer1 dials it back', async () => {
    // a slower uplink for peer1 so that the transfer outlasts the move to the direct connection
    natlab('shape', 'peer1', '100mbit')
    try {
      const out = join(dir.path, 'out3')
      const res = await get('peer3', 'upgrade.bin', masterAddr, out)
      assert.equal(res.code, 0, res.log)
      assert.ok(await sameFile(join(out, 'upgrade.bin'), join(share1(), 'upgrade.bin')))
      const [p] = res.done.providers
      assert.equal(res.done.providers.length, 1)
      assert.equal(p.peer, peer1Id)
      assert.equal(p.bytes, 24 * MiB, 'no chunk counted twice')
      assert.equal(p.path, 'direct', JSON.stringify(p))
      assert.ok(p.relayedBytes > 0 && p.relayedBytes < p.bytes, `part relayed, part direct: ${JSON.stringify(p)}`)
      const last = res.events.filter(e => e.event === 'progress' && e.providers.length > 0).at(-1)
      assert.equal(last.providers[0].path, 'direct')
    } finally {
      natlab('unshape', 'peer1')
    }
  })

  it('peer1 (NAT) fetches from peer3 (public) over a direct connection', async () => {
    const out = join(dir.path, 'out1')
    const res = await get('peer1', 'public.bin', masterAddr, out)
    assert.equal(res.code, 0, res.log)
    assert.ok(await sameFile(join(out, 'public.bin'), join(share3(), 'public.bin')))
    assert.deepEqual(res.done.providers.map((p: any) => [p.peer, p.path, p.relayedBytes]), [[peer3Id, 'direct', 0]])
  })

  it('the master restarts: peer1 reserves again and stays findable', async () => {
    const seen = peer1.events.length
    await master.stop()
    await peer1.event(e => peer1.events.indexOf(e) >= seen && e.event === 'reachability' && e.reachability === 'private', 20_000, 'reservation lost')
    master = await startMaster()
    const back = await peer1.event(e => peer1.events.indexOf(e) >= seen && e.event === 'reachability' && e.reachability === 'relayed', 60_000, 'reservation again')
    assert.ok(back.addrs.every((a: string) => a.startsWith(`${masterAddr}/p2p-circuit`)), back.addrs.join())
    const out = join(dir.path, 'out2-after-restart')
    // registration and identify push reach the new master process shortly after the reservation
    let res = await get('peer2', 'behind-nat.bin', masterAddr, out)
    for (let attempt = 0; res.code !== 0 && attempt < 20; attempt++) {
      await new Promise(resolve => setTimeout(resolve, 500))
      res = await get('peer2', 'behind-nat.bin', masterAddr, out)
    }
    assert.equal(res.code, 0, res.log)
    assert.ok(await sameFile(join(out, 'behind-nat.bin'), join(share1(), 'behind-nat.bin')))
    assert.deepEqual(res.done.providers.map((p: any) => [p.peer, p.path]), [[peer1Id, 'relayed']])
  })
})
