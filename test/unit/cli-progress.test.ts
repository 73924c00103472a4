import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { renderLine, MovingRate, ProgressReporter, formatDuration } from '../../src/cli/progress.js'
import { Output } from '../../src/cli/output.js'
import { loadConfig } from '../../src/cli/config.js'
import { suggest } from '../../src/cli/command.js'
import { rate, wholeNumber } from '../../src/cli/validate.js'

/** A fake terminal stream that records writes. */
function fakeTty (columns: number, isTTY = true): NodeJS.WriteStream & { text: string } {
  const s: any = { text: '', columns, isTTY, write (chunk: string) { s.text += chunk; return true } }
  return s
}

describe('CLI progress', () => {
  it('a line fits the width, shortening the label first; no NaN, -- before a rate is known', () => {
    for (const width of [40, 60, 79, 120]) {
      const line = renderLine({ label: 'a-very-long-file-name-that-goes-on-and-on-and-on.tar.gz', shown: 3 * 1024 * 1024, total: 40 * 1024 * 1024, rate: 3 * 1024 * 1024, providers: 12 }, width)
      assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`)
      assert.match(line, /ETA \d/)
      assert.doesNotMatch(line, /NaN|Infinity/)
    }
    const early = renderLine({ label: 'x.bin', shown: 0, total: 100, rate: null, providers: 1 }, 79)
    assert.match(early, /ETA --/)
    assert.equal(formatDuration(Number.NaN), '--')
    assert.equal(formatDuration(75), '1m15s')
  })

  it('the rate is a moving window, null until it spans a second', () => {
    const r = new MovingRate(5000)
    r.add(0, 0)
    r.add(500, 1000)
    assert.equal(r.rate(), null)
    for (let t = 1000; t <= 20_000; t += 1000) r.add(t, t * 10) // 10 kB/s
    assert.ok(Math.abs(r.rate()! - 10_000) < 1)
    r.add(21_000, 20_000 * 10 + 100_000) // a burst: the window shows it, then forgets it
    assert.ok(r.rate()! > 10_000)
  })

  it('resumed bytes are not speed; the bar moves with received bytes; one line on a TTY', () => {
    const tty = fakeTty(60)
    const p = new ProgressReporter('file.bin', false, tty)
    p.resumed(40 * 1024 * 1024)
    const t0 = Date.now()
    const realNow = Date.now
    let now = t0
    Date.now = () => now
    try {
      p.update(40 * 1024 * 1024, 100 * 1024 * 1024, 1, 40 * 1024 * 1024)
      now += 2000
      p.update(40 * 1024 * 1024, 100 * 1024 * 1024, 1, 46 * 1024 * 1024) // 3 MiB/s received, not yet verified
    } finally {
      Date.now = realNow
    }
    const frames = tty.text.split('\r').filter(f => f !== '').map(f => f.replace('\x1b[K', ''))
    assert.ok(frames.length >= 2)
    for (const f of frames) assert.ok(f.length <= 59, f)
    assert.match(frames.at(-1)!, /46\.0 MiB\/100\.0 MiB|46%/)
    assert.match(frames.at(-1)!, /3\.0 MiB\/s/)
  })

  it('without a terminal, a plain line every few seconds', () => {
    const pipe = fakeTty(0, false)
    const p = new ProgressReporter('file.bin', false, pipe)
    const realNow = Date.now
    let now = realNow()
    Date.now = () => now
    try {
      for (let i = 0; i <= 12; i++) {
        p.update(i * 1024 * 1024, 12 * 1024 * 1024, 2, i * 1024 * 1024)
        now += 1000
      }
    } finally {
      Date.now = realNow
    }
    const lines = pipe.text.trim().split('\n')
    assert.ok(lines.length >= 2 && lines.length <= 3, pipe.text)
    assert.match(lines[0], /^file\.bin: \d+% .* of 12\.0 MiB, .*\/s, ETA .*, 2 provider\(s\)$/)
  })
})

describe('CLI small parts', () => {
  it('repeated warnings of one kind are held back and counted', () => {
    const out = new Output(false)
    const written: string[] = []
    const orig = process.stderr.write
    process.stderr.write = ((chunk: string) => { written.push(chunk); return true }) as any
    try {
      for (let i = 0; i < 5; i++) out.warn(`registration with the master failed (attempt ${i}): retrying in ${i * 500} ms`)
      out.warn('something else')
    } finally {
      process.stderr.write = orig
    }
    assert.equal(written.length, 2)
  })

  it('config: wrong types and ranges are usage errors naming the key; unknown keys are warned', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'fileshare-schema-'))
    try {
      const file = join(dir, 'c.json')
      writeFileSync(file, JSON.stringify({ reachability: 'sometimes' }))
      assert.throws(() => loadConfig('peer', file), (e: any) => e.code === 'USAGE' && /"reachability" must be "auto", "public" or "relayed"/.test(e.message))
      writeFileSync(file, JSON.stringify({ relay: { dataLimit: -1 } }))
      assert.throws(() => loadConfig('master', file), (e: any) => e.code === 'USAGE' && /"relay\.dataLimit" must be a whole number/.test(e.message))
      writeFileSync(file, JSON.stringify({ relay: { datalimit: 5 }, maxUplods: 3 }))
      const warnings: string[] = []
      loadConfig('master', file, w => warnings.push(w))
      assert.equal(warnings.length, 2)
      assert.match(warnings[0], /unknown key "relay\.datalimit" ignored \(did you mean "relay\.dataLimit"\?\)/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('suggestions, rates and bounded numbers', () => {
    assert.equal(suggest('serach', ['search', 'get']), 'search')
    assert.equal(suggest('zzz', ['search', 'get']), null)
    assert.equal(rate('--r', '2M'), 2 * 1024 * 1024)
    assert.equal(rate('--r', '500kB/s'), 500_000)
    assert.equal(rate('--r', '0'), undefined)
    assert.throws(() => rate('--r', 'fast'), /--r "fast": expected bytes per second/)
    assert.throws(() => wholeNumber('--limit', '500', 1, 100), /--limit "500": at most 100/)
  })
})
