#!/usr/bin/env node
// Worker for master-load.mjs: N real libp2p nodes in this process, each connected to the
// master, each registering its files through /fileshare/register/1.0.0; then, on command,
// concurrent lookups and searches from random nodes, with their latencies reported.
// argv: masterAddr worker nodes filesPerNode
import '../../dist/node/polyfill.js'
import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '../../dist/node/create-node.js'
import { MasterClient } from '../../dist/peer/master-client.js'
import { RegisterRequest } from '../../dist/protocols/register/pb/register.js'
import { REGISTER_BATCH } from '../../dist/protocols/register/constants.js'
import { word, COMMON_IDS } from './master-load-words.mjs'

const [addr, workerText, nodesText, filesText] = process.argv.slice(2)
const worker = Number(workerText)
const nodes = Number(nodesText)
const filesPerNode = Number(filesText)
const ma = multiaddr(addr)
const say = obj => process.stdout.write(JSON.stringify(obj) + '\n')

const idOf = text => createHash('sha256').update(text).digest()
const commonId = i => idOf(`common-${i}`)
function fileOf (n, i) {
  const k = (worker * 1_000_003 + n * 7919 + i * 104_729)
  const shared = i < COMMON_IDS
  return {
    id: shared ? commonId(i) : idOf(`${worker}/${n}/${i}`),
    path: `${word(k)}/${word(k >> 3)} ${word(k >> 7)}-${i}.${['jpg', 'mp3', 'pdf', 'txt', 'mkv'][i % 5]}`,
    size: 1000 + i
  }
}

async function pool (count, parallel, fn) {
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) await fn(next++)
  }))
}

const clients = []
const t0 = Date.now()
await pool(nodes, 16, async n => {
  const node = await createNode({ listen: [] })
  await node.dial(ma)
  clients[n] = new MasterClient(node, ma)
})
say({ phase: 'connected', nodes, ms: Date.now() - t0 })

const t1 = Date.now()
await pool(nodes, 4, async n => {
  for (let start = 0; start < filesPerNode; start += REGISTER_BATCH) {
    const files = []
    for (let i = start; i < Math.min(filesPerNode, start + REGISTER_BATCH); i++) files.push(fileOf(n, i))
    await clients[n].register({ op: start === 0 ? RegisterRequest.Op.RESET : RegisterRequest.Op.ADD, files, paths: [] })
  }
})
say({ phase: 'registered', files: nodes * filesPerNode, ms: Date.now() - t1 })

const rnd = m => Math.floor(Math.random() * m)
createInterface({ input: process.stdin }).on('line', async line => {
  const cmd = JSON.parse(line)
  if (cmd.cmd === 'stop') {
    await Promise.all(clients.map(async c => await c.node.stop().catch(() => {})))
    process.exit(0)
  }
  if (cmd.cmd !== 'measure') return
  const lookup = []
  const lookupOne = []
  const lookupMany = []
  const search = []
  const errors = {}
  const end = Date.now() + cmd.durationMs
  await Promise.all(Array.from({ length: cmd.concurrency }, async (_, lane) => {
    for (let k = 0; Date.now() < end; k++) {
      const c = clients[rnd(nodes)]
      const start = process.hrtime.bigint()
      try {
        if ((k + lane) % 2 === 0) {
          const n = rnd(nodes)
          const common = rnd(10) === 0
          const i = common ? rnd(COMMON_IDS) : COMMON_IDS + rnd(filesPerNode - COMMON_IDS)
          const res = await c.providers(fileOf(n, i).id)
          if (res.providers.length === 0) throw new Error('no provider')
          const ms = Number(process.hrtime.bigint() - start) / 1e6
          lookup.push(ms)
          ;(common ? lookupMany : lookupOne).push(ms)
        } else {
          // a whole word, a broad 2-3 letter prefix, or two words
          const w = word(rnd(1 << 20))
          const q = [w, w.slice(0, 2 + rnd(2)), `${w} ${word(rnd(1 << 20)).slice(0, 3)}`][rnd(3)]
          await c.search(q, 50)
          search.push(Number(process.hrtime.bigint() - start) / 1e6)
        }
      } catch (err) {
        const key = err?.code ?? err?.message ?? String(err)
        errors[key] = (errors[key] ?? 0) + 1
      }
    }
  }))
  say({ phase: 'measured', lookup, lookupOne, lookupMany, search, errors })
})
say({ phase: 'ready' })
