import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { parseListenAddress } from '../../src/web/http.js'
import { optionalWebValue } from '../../src/cli/web-options.js'
import { dropReason } from '../../src/metrics/metrics.js'
import { History } from '../../src/metrics/history.js'

describe('web options', () => {
  it('parses listen addresses (loopback by default)', () => {
    assert.deepEqual(parseListenAddress(undefined, 7777), { host: '127.0.0.1', port: 7777, portGiven: false })
    assert.deepEqual(parseListenAddress('', 7777), { host: '127.0.0.1', port: 7777, portGiven: false })
    assert.deepEqual(parseListenAddress('8080', 7777), { host: '127.0.0.1', port: 8080, portGiven: true })
    assert.deepEqual(parseListenAddress('0.0.0.0:9000', 7777), { host: '0.0.0.0', port: 9000, portGiven: true })
    assert.deepEqual(parseListenAddress('localhost', 7777), { host: 'localhost', port: 7777, portGiven: false })
    assert.deepEqual(parseListenAddress('[::1]:81', 7777), { host: '::1', port: 81, portGiven: true })
    assert.deepEqual(parseListenAddress('http://127.0.0.1:5/', 7777), { host: '127.0.0.1', port: 5, portGiven: true })
    for (const bad of ['127.0.0.1:99999', 'host:port', 'a b:1']) assert.throws(() => parseListenAddress(bad, 1), /bad web address/, bad)
  })

  it('gives --web an optional value', () => {
    assert.deepEqual(optionalWebValue(['--share', 'd', '--web']), ['--share', 'd', '--web='])
    assert.deepEqual(optionalWebValue(['--web', '--share', 'd']), ['--web=', '--share', 'd'])
    assert.deepEqual(optionalWebValue(['--web', '127.0.0.1:8000', '--share', 'd']), ['--web=127.0.0.1:8000', '--share', 'd'])
    assert.deepEqual(optionalWebValue(['--web', '8000']), ['--web=8000'])
    assert.deepEqual(optionalWebValue(['get', '--seed', '--web', 'movie.mkv']), ['get', '--seed', '--web=', 'movie.mkv'])
  })

  it('turns provider-dropped reasons into few label values', () => {
    assert.equal(dropReason('chunk 7 failed verification'), 'verification')
    assert.equal(dropReason('provider stalled for 20 s'), 'stalled')
    assert.equal(dropReason('BUSY: too many uploads'), 'busy')
    assert.equal(dropReason('NOT_FOUND: not shared here'), 'not_found')
    assert.equal(dropReason('something odd'), 'other')
  })

  it('keeps the last hour as rates and gauges', () => {
    let total = 0
    let gauge = 5
    const h = new History({ r: { kind: 'rate', read: () => total }, g: { kind: 'gauge', read: () => gauge } }, 1000, 3000)
    for (let i = 0; i < 5; i++) {
      total += 10
      gauge++
      h.sample()
    }
    const s = h.snapshot()
    assert.equal(s.t.length, 3)
    assert.deepEqual(s.series.g, [8, 9, 10])
    assert.ok(s.series.r.every(v => v > 0))
  })
})
