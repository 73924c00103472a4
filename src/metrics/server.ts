/**
 * `--metrics ADDR`: a server with /metrics only (Prometheus text, no token: it is read-only
 * and binds to 127.0.0.1 unless told otherwise). With `--web`, /metrics is also served
 * under the web server's token.
 */
import { createServer, type Server } from 'node:http'
import { FileShareError } from '../errors.js'
import type { ListenAddress } from '../web/http.js'
import type { PrometheusMetrics } from './prometheus.js'

export async function startMetricsServer (sink: PrometheusMetrics, listen: ListenAddress): Promise<{ url: string, close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'only GET /metrics here' } }))
      return
    }
    sink.text().then(text => {
      res.writeHead(200, { 'Content-Type': sink.contentType }).end(text)
    }, (err: any) => {
      res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { code: 'INTERNAL', message: String(err?.message ?? err) } }))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: any) => { reject(new FileShareError('LISTEN', `metrics server cannot listen on ${listen.host}:${listen.port}: ${err?.code ?? err}`)) })
    server.listen(listen.port, listen.host, () => { resolve() })
  })
  const address = server.address()
  const port = address != null && typeof address === 'object' ? address.port : listen.port
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host
  return {
    url: `http://${host}:${port}/metrics`,
    close: async () => { await new Promise<void>(resolve => server.close(() => { resolve() })) }
  }
}
