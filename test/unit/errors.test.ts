import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ConnectionClosedError, DialError, StreamResetError, TimeoutError, UnsupportedProtocolError, LimitedConnectionError } from '@libp2p/interface'
import { FileShareError, toFileShareError, exitCodeFor } from '../../src/errors.js'

function sysError (code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code} happened`), { code })
}

describe('toFileShareError', () => {
  it('keeps a FileShareError as it is', () => {
    const err = new FileShareError('NOT_FOUND', 'gone')
    assert.equal(toFileShareError(err), err)
  })

  it('maps libp2p errors by their name, from the explicit table', () => {
    for (const err of [new DialError('x'), new ConnectionClosedError('x'), new StreamResetError('x'), new LimitedConnectionError('x')]) {
      assert.equal(toFileShareError(err).code, 'NETWORK', err.name)
    }
    assert.equal(toFileShareError(new UnsupportedProtocolError('x')).code, 'PROTOCOL')
    assert.match(toFileShareError(new TimeoutError('slow')).message, /^timed out: slow/)
    assert.equal(toFileShareError(new DOMException('t', 'TimeoutError')).code, 'NETWORK')
  })

  it('maps Node system error codes: network, listen, else IO', () => {
    assert.equal(toFileShareError(sysError('ECONNREFUSED')).code, 'NETWORK')
    assert.equal(toFileShareError(sysError('EADDRINUSE')).code, 'LISTEN')
    assert.equal(toFileShareError(sysError('ENOENT')).code, 'IO')
  })

  it('anything else takes the fallback; a name merely resembling a libp2p one is not guessed', () => {
    assert.equal(toFileShareError(new Error('boom')).code, 'INTERNAL')
    assert.equal(toFileShareError(Object.assign(new Error('x'), { name: 'MyConnectionThing' }), 'IO').code, 'IO')
    assert.equal(toFileShareError('a string').code, 'INTERNAL')
  })

  it('exit code 2 for USAGE only', () => {
    assert.equal(exitCodeFor(new FileShareError('USAGE', 'x')), 2)
    assert.equal(exitCodeFor(new FileShareError('LISTEN', 'x')), 1)
  })
})
