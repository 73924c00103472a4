/**
 * Web and metrics server addresses (`HOST:PORT`, `PORT`, `HOST`): no dependencies, so the
 * command line can check them before anything heavy loads.
 */
import { FileShareError } from '../errors.js'

export interface ListenAddress {
  host: string
  port: number
  /** the port was not given: the next free one is taken */
  portGiven: boolean
}

export const DEFAULT_WEB_HOST = '127.0.0.1'

/** `HOST:PORT`, `PORT`, `HOST`, `[V6]:PORT` or `http://HOST:PORT` (default host 127.0.0.1). */
export function parseListenAddress (text: string | true | undefined | null, defaultPort: number): ListenAddress {
  let s = typeof text === 'string' ? text.trim() : ''
  s = s.replace(/^https?:\/\//, '').replace(/\/$/, '')
  if (s === '') return { host: DEFAULT_WEB_HOST, port: defaultPort, portGiven: false }
  let host = DEFAULT_WEB_HOST
  let portText: string | undefined
  const v6 = s.match(/^\[([^\]]+)\](?::(\d+))?$/)
  if (v6 != null) {
    host = v6[1]
    portText = v6[2]
  } else if (/^\d+$/.test(s)) {
    portText = s
  } else {
    const i = s.lastIndexOf(':')
    if (i >= 0 && s.indexOf(':') === i) {
      host = s.slice(0, i)
      portText = s.slice(i + 1)
    } else if (i < 0) {
      host = s
    } else {
      host = s // a bare IPv6 address
    }
  }
  const port = portText == null ? defaultPort : Number(portText)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FileShareError('USAGE', `bad web address ${JSON.stringify(text)}: use HOST:PORT, PORT or HOST`)
  if (host === '' || /[\s/]/.test(host)) throw new FileShareError('USAGE', `bad web address ${JSON.stringify(text)}: use HOST:PORT, PORT or HOST`)
  return { host, port, portGiven: portText != null }
}

export function isLoopback (host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '::1'
}

