#!/usr/bin/env node
// Does @libp2p/dcutr punch a direct QUIC connection between two NATed peers with
// @chainsafe/libp2p-quic? A trace in the NAT lab (root; scripts/natlab.sh, NATLAB_WAN=public,
// two port-preserving MASQUERADE NATs with the home-router firewall), without FileShare's
// punch service: two bare probe nodes (dcutr-probe.mjs) behind nat1 and nat2, a bare circuit
// relay v2 server (the same probe) on the lab's master host.
//
//   npm run build && node scripts/bench/dcutr-trace.mjs [--prefix dct] [--wait 40] [--modes plain,feed]
//
// Modes: plain = DCUtR as shipped; feed = each probe confirms its observed QUIC address (the
// NAT's mapping of its QUIC dial socket, as the relay saw it) so that DCUtR sends it.
// Prints per mode: whether a direct connection appeared, the DCUtR log of both probes, the
// UDP packets each probe received from the other's NAT per local socket (listener / dial
// socket, iptables counters) and the NATs' conntrack entries between the two NATs.
// Bounded: each mode ends after --wait s (+ start-up), the lab is torn down at the end.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createInterface } from 'node:readline'

const { values } = parseArgs({
  options: {
    prefix: { type: 'string', default: 'dct' },
    wait: { type: 'string', default: '40' },
    modes: { type: 'string', default: 'plain,feed' }
  }
})
const PREFIX = values.prefix
const root = new URL('../..', import.meta.url).pathname
const NATLAB = join(root, 'scripts/natlab.sh')
const PROBE = join(root, 'scripts/bench/dcutr-probe.mjs')
if (process.getuid?.() !== 0) { console.error('dcutr trace: needs root (network namespaces)'); process.exit(2) }
const live = new Set()
process.on('exit', () => { for (const c of live) c.kill('SIGKILL') })

function natlab (...args) {
  const res = spawnSync('bash', [NATLAB, ...args], { env: { ...process.env, NATLAB_PREFIX: PREFIX, NATLAB_WAN: 'public', NATLAB_PEER3: '0', NATLAB_NAT1_MODE: 'masq', NATLAB_NAT2_MODE: 'masq' }, encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`natlab ${args.join(' ')}: ${res.stderr}`)
  return res.stdout.trim()
}
const inNs = (ns, ...cmd) => spawnSync('ip', ['netns', 'exec', `${PREFIX}-${ns}`, ...cmd], { encoding: 'utf8' }).stdout

function start (ns, args, env = {}) {
  const child = spawn('ip', ['netns', 'exec', `${PREFIX}-${ns}`, process.execPath, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  live.add(child)
  const events = []
  let stderr = ''
  const waiters = new Set()
  child.stderr.setEncoding('utf8').on('data', d => { stderr += d })
  createInterface({ input: child.stdout }).on('line', line => {
    try { events.push(JSON.parse(line)) } catch { return }
    for (const w of waiters) w()
  })
  const exited = new Promise(resolve => child.on('close', code => { live.delete(child); for (const w of waiters) w(); resolve(code) }))
  async function next (name, ms) {
    const deadline = Date.now() + ms
    while (true) {
      const e = events.find(x => x.event === name)
      if (e != null) return e
      if (child.exitCode != null || Date.now() > deadline) throw new Error(`${ns}: no '${name}' (${stderr.replace(/.*libp2p:dcutr.*\n/g, '').slice(0, 1500)})`)
      await new Promise(resolve => { const t = setTimeout(done, 200); function done () { clearTimeout(t); waiters.delete(done); resolve() } waiters.add(done) })
    }
  }
  return { events, next, exited, stderr: () => stderr, stop: () => { child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 3000).unref() } }
}

const portOf = addr => Number(/\/udp\/(\d+)\/quic-v1/.exec(addr)?.[1])

/** counting rules (no target) for UDP from `fromIp` to the probe's listener and dial socket */
function countRules (ns, fromIp, listenPort, dialPort) {
  for (const [port, what] of [[listenPort, 'listener'], [dialPort, 'dial-socket']]) {
    inNs(ns, 'iptables', '-I', 'INPUT', '-p', 'udp', '-s', fromIp, '--dport', String(port), '-m', 'comment', '--comment', `from other NAT to ${what} :${port}`)
  }
  inNs(ns, 'iptables', '-I', 'OUTPUT', '-p', 'udp', '-d', fromIp, '-m', 'comment', '--comment', 'to the other NAT (any socket)')
}
const counters = ns => inNs(ns, 'iptables', '-L', '-v', '-n', '-x').split('\n').filter(l => l.includes('/*')).map(l => '    ' + l.trim().replace(/\s+/g, ' ')).join('\n')
const conntrack = (ns, a, b) => inNs(ns, 'cat', '/proc/net/nf_conntrack').split('\n').filter(l => l.includes('udp') && l.includes(a) && l.includes(b)).map(l => '    ' + l.replace(/\s+/g, ' ')).join('\n')
/** the libp2p:dcutr lines of a probe's stderr, a multi-line address list folded into its line */
function dcutrLog (text) {
  const lines = []
  for (const raw of text.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    if (/libp2p:dcutr/.test(raw)) lines.push(raw.trim().replace(/^\S+\s+/, ''))
    else if (lines.length > 0 && /^\s+(Multiaddr\(|\]|')/.test(raw) && lines.at(-1).includes('[')) lines[lines.length - 1] += ' ' + raw.trim()
  }
  return lines.map(l => '    ' + l.slice(0, 400)).join('\n')
}

const dir = mkdtempSync(join(tmpdir(), 'fileshare-dcutr-trace-'))
spawnSync('chmod', ['755', dir])
try {
  natlab('up')
  const masterIp = natlab('addr', 'master')
  const nat1 = natlab('addr', 'nat1')
  const nat2 = natlab('addr', 'nat2')
  const master = start('master', [PROBE, '--role', 'relay', '--listen', `/ip4/${masterIp}/udp/4001/quic-v1`])
  const ready = await master.next('ready', 60_000)
  const relay = ready.addrs.find(a => a.includes('/quic-v1/'))
  console.log(`relay: ${relay}\nnat1 (B, provider side) ${nat1}, nat2 (A, dialling side) ${nat2}\n`)
  for (const mode of values.modes.split(',')) {
    const feed = mode === 'feed' ? ['--feed'] : []
    const env = { DEBUG: 'libp2p:dcutr*' }
    const b = start('peer1', [PROBE, '--relay', relay, '--role', 'listen', '--wait', values.wait, ...feed], env)
    const reserved = await b.next('reserved', 40_000)
    const bListen = portOf((await b.next('listening', 1000)).listen.find(a => a.includes('quic-v1')))
    const bDial = portOf((await b.next('observed', 10_000)).observedAddr)
    countRules('peer1', nat2, bListen, bDial)
    const a = start('peer2', [PROBE, '--relay', relay, '--role', 'dial', '--target', reserved.circuit, '--wait', values.wait, ...feed], env)
    const aListen = portOf((await a.next('listening', 30_000)).listen.find(x => x.includes('quic-v1')))
    const aDial = portOf((await a.next('observed', 15_000)).observedAddr)
    countRules('peer2', nat1, aListen, aDial)
    const result = await a.next('result', (Number(values.wait) + 30) * 1000)
    console.log(`=== mode ${mode}: direct connection ${result.direct ? 'YES ' + result.remoteAddr : 'NO'}`)
    console.log(`  B (peer1, inbound side of the relayed connection): QUIC listener :${bListen}, QUIC dial socket :${bDial}`)
    console.log(`    addresses B announces: ${reserved.addresses.join(' ')}`)
    console.log(`  A (peer2, dialled through the relay): QUIC listener :${aListen}, QUIC dial socket :${aDial}`)
    console.log(`    addresses A announces: ${(a.events.find(e => e.event === 'addresses')?.addresses ?? []).join(' ')}`)
    console.log('  DCUtR log, B:\n' + dcutrLog(b.stderr()))
    console.log('  DCUtR log, A:\n' + dcutrLog(a.stderr()))
    console.log('  UDP packets B received from nat2 / sent to it (iptables counters in peer1):\n' + counters('peer1'))
    console.log('  UDP packets A received from nat1 / sent to it (iptables counters in peer2):\n' + counters('peer2'))
    console.log('  conntrack in nat1 (B\'s NAT) between the two NATs:\n' + conntrack('nat1', nat1, nat2))
    console.log('  conntrack in nat2 (A\'s NAT) between the two NATs:\n' + conntrack('nat2', nat2, nat1))
    console.log('')
    a.stop(); b.stop()
    await Promise.all([a.exited, b.exited])
    inNs('peer1', 'iptables', '-F'); inNs('peer2', 'iptables', '-F')
  }
  master.stop()
  await master.exited
} finally {
  for (const c of live) c.kill('SIGKILL')
  try { natlab('down') } catch {}
  rmSync(dir, { recursive: true, force: true })
}
