/**
 * The HTTP side shared by the peer UI and the master dashboard: a Hono app on node:http,
 * bound to loopback by default, every request checked before it reaches a route:
 *
 * - Host must be an IP literal or `localhost` with our port (a DNS-rebinding page reaches
 *   us under its own host name, and is refused);
 * - a request carrying Origin (browsers do on every cross-origin request and every POST)
 *   must come from our own origin, and `Sec-Fetch-Site: cross-site` is refused;
 * - the token: `Authorization: Bearer <token>`, or the cookie that `/?token=<token>` sets
 *   (HttpOnly, SameSite=Strict; the token leaves the address bar by a redirect).
 *
 * Failures are JSON `{ "error": { "code", "message" } }` with a 4xx (5xx only for our own bugs).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isIP } from 'node:net'
import type { Server } from 'node:http'
import { Hono, type Context } from 'hono'
import { createAdaptorServer } from '@hono/node-server'
import { bodyLimit } from 'hono/body-limit'
import { FileShareError, type ErrorCode } from '../errors.js'
import { type ListenAddress } from './address.js'

export { parseListenAddress, isLoopback, DEFAULT_WEB_HOST, type ListenAddress } from './address.js'

export function newToken (): string {
  return randomBytes(24).toString('hex')
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  USAGE: 400,
  NOT_FOUND: 404,
  AMBIGUOUS_NAME: 409,
  NO_PROVIDER: 404,
  NO_MASTER: 503,
  NETWORK: 502,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  ABORTED: 409,
  IO: 500,
  LISTEN: 500,
  LOCKED: 409,
  VERIFICATION_FAILED: 502,
  PROTOCOL: 502
}

/** A JSON error response. */
export function jsonError (c: Context, status: number, code: string, message: string, extra: Record<string, unknown> = {}): Response {
  return c.json({ error: { code, message, ...extra } }, status as any)
}

/** An HTTP error a route throws: becomes a JSON error with its status. */
export class HttpError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

export interface WebServer {
  readonly url: string
  /** the URL with `?token=…`: what to open in a browser */
  readonly urlWithToken: string
  readonly token: string
  readonly host: string
  readonly port: number
  close: () => Promise<void>
}

export interface WebServerOptions {
  listen: ListenAddress
  token?: string
  /** adds the routes (after the checks) */
  routes: (app: Hono) => void
  /** static files: request path → file name in dist/public (`/` → the page) */
  assets: Record<string, string>
  /** the page's title in the 401 page */
  title: string
}

/** dist/public, the pages built by `npm run build` (dist/web/http.js → ../public; the test build looks in dist/ too). */
export function assetDir (): string {
  const candidates = ['../public/', '../../../dist/public/'].map(rel => fileURLToPath(new URL(rel, import.meta.url)))
  return candidates.find(dir => existsSync(`${dir}peer.html`)) ?? candidates[0]
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  png: 'image/png',
  svg: 'image/svg+xml',
  map: 'application/json'
}

export async function startWebServer (options: WebServerOptions): Promise<WebServer> {
  const token = options.token ?? newToken()
  const tokenBytes = Buffer.from(token)
  const app = new Hono()
  let port = options.listen.port
  const cookieName = (): string => `fileshare_token_${port}`

  const dir = assetDir()
  const files = new Map<string, { body: Buffer, type: string }>()
  for (const [path, name] of Object.entries(options.assets)) {
    try {
      files.set(path, { body: readFileSync(dir + name), type: TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream' })
    } catch {
      // not built: the API still works; the page says so
      if (path === '/') files.set(path, { body: Buffer.from(`<!doctype html><p>${options.title}: the web UI is not built (run npm run build)</p>`), type: TYPES.html })
    }
  }

  const tokenOk = (given: string | undefined | null): boolean => {
    if (given == null) return false
    const b = Buffer.from(given)
    return b.length === tokenBytes.length && timingSafeEqual(b, tokenBytes)
  }

  app.onError((err, c) => {
    if (err instanceof HttpError) return jsonError(c, err.status, err.code, err.message)
    if (err instanceof FileShareError) return jsonError(c, STATUS_OF[err.code] ?? 500, err.code, err.message, err.details ?? {})
    if (err instanceof SyntaxError) return jsonError(c, 400, 'BAD_REQUEST', `bad JSON body: ${err.message}`)
    return jsonError(c, 500, 'INTERNAL', (err as Error)?.message ?? String(err))
  })
  app.notFound(c => jsonError(c, 404, 'NOT_FOUND', `no such endpoint: ${c.req.method} ${c.req.path}`))

  app.use('*', async (c, next) => {
    // DNS rebinding: only our own IP literals or localhost, on our port
    const hostHeader = c.req.header('host') ?? ''
    const m = hostHeader.match(/^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/)
    const hostName = m?.[1]?.replace(/^\[|\]$/g, '') ?? ''
    const hostPort = m?.[2] != null ? Number(m[2]) : 80
    if (m == null || hostPort !== port || !(hostName === 'localhost' || isIP(hostName) !== 0)) {
      return jsonError(c, 403, 'FORBIDDEN', `Host ${JSON.stringify(hostHeader)} is not this server (use http://127.0.0.1:${port}/)`)
    }
    // cross-site requests
    const origin = c.req.header('origin')
    if (origin != null && origin !== `http://${hostHeader}`) {
      return jsonError(c, 403, 'FORBIDDEN', `cross-origin request from ${origin} refused`)
    }
    if (c.req.header('sec-fetch-site') === 'cross-site') {
      return jsonError(c, 403, 'FORBIDDEN', 'cross-site request refused')
    }
    // ?token= sets the cookie and leaves the address bar
    const queryToken = c.req.query('token')
    if (queryToken != null && c.req.method === 'GET') {
      if (!tokenOk(queryToken)) return jsonError(c, 401, 'UNAUTHORIZED', 'wrong token')
      const url = new URL(c.req.url)
      url.searchParams.delete('token')
      c.header('Set-Cookie', `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`)
      c.header('Cache-Control', 'no-store')
      return c.redirect(url.pathname + url.search, 303)
    }
    const auth = c.req.header('authorization')
    const bearer = auth?.match(/^Bearer\s+(\S+)$/i)?.[1]
    const cookie = (c.req.header('cookie') ?? '').split(/;\s*/).find(p => p.startsWith(`${cookieName()}=`))?.slice(cookieName().length + 1)
    if (!tokenOk(bearer) && !tokenOk(cookie)) {
      c.header('WWW-Authenticate', 'Bearer')
      const wantsPage = (c.req.header('accept') ?? '').includes('text/html')
      if (wantsPage) {
        return c.html(`<!doctype html><title>${options.title}</title><h1>401: token required</h1><p>Open the address printed when the node started (it ends in <code>?token=…</code>), or send <code>Authorization: Bearer &lt;token&gt;</code>.</p>`, 401)
      }
      return jsonError(c, 401, 'UNAUTHORIZED', 'token required: Authorization: Bearer <token>, or open the printed URL with ?token=')
    }
    c.header('Cache-Control', 'no-store')
    c.header('X-Content-Type-Options', 'nosniff')
    c.header('X-Frame-Options', 'DENY')
    c.header('Referrer-Policy', 'no-referrer')
    await next()
  })

  // request bodies are small JSON objects
  app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: c => jsonError(c, 413, 'TOO_LARGE', 'request bodies are limited to 64 KiB') }))

  for (const [path, file] of files) {
    app.get(path, c => c.body(new Uint8Array(file.body), 200, { 'Content-Type': file.type }))
  }
  options.routes(app)

  const server = createAdaptorServer({ fetch: app.fetch }) as Server
  const { host } = options.listen
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => { server.off('error', reject); resolve() })
      })
      break
    } catch (err: any) {
      if (err?.code === 'EADDRINUSE' && !options.listen.portGiven && attempt < 20) {
        port++
        continue
      }
      throw new FileShareError('LISTEN', `web server cannot listen on ${host}:${port}: ${err?.code ?? err?.message}`)
    }
  }
  const address = server.address()
  if (address != null && typeof address === 'object') port = address.port
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}/`
  return {
    url,
    urlWithToken: `${url}?token=${token}`,
    token,
    host,
    port,
    async close () {
      server.closeAllConnections?.()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
}

/** Parses a JSON request body (400 on anything but a JSON object). */
export async function jsonBody (c: Context): Promise<Record<string, unknown>> {
  let body: unknown
  try {
    body = await c.req.json()
  } catch (err: any) {
    throw new HttpError(400, 'BAD_REQUEST', `the body must be JSON: ${err?.message ?? err}`)
  }
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'BAD_REQUEST', 'the body must be a JSON object')
  return body as Record<string, unknown>
}
