/**
 * Small helpers for libp2p v3 streams used by every protocol: waiting for 'drain' (the
 * built-in onDrain() resolves at once after its first use), bounded request/response
 * exchanges over length-prefixed protobuf, and closing a stream without throwing.
 */
import { pbStream } from '@libp2p/utils'
import type { Stream, AbortOptions } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { MAX_CONTROL_FRAME } from './constants.js'

export interface Codec<T> {
  encode: (value: T) => Uint8Array
  decode: (data: Uint8Array | Uint8ArrayList, opts?: any) => T
}

/**
 * Resolves when the stream's write buffer drained; rejects when it closes, `signal` aborts
 * or, with `timeoutMs`, no 'drain' came within that time (a reader that takes no data).
 */
export async function waitForDrain (stream: Stream, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
  if (!stream.writableNeedsDrain) return
  await new Promise<void>((resolve, reject) => {
    const timer = timeoutMs != null
      ? setTimeout(() => { cleanup(); reject(new DOMException(`the reader took no data for ${timeoutMs} ms`, 'TimeoutError')) }, timeoutMs)
      : undefined
    const cleanup = (): void => {
      clearTimeout(timer)
      stream.removeEventListener('drain', onDrain)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onDrain = (): void => { cleanup(); resolve() }
    const onClose = (evt: any): void => { cleanup(); reject(evt?.error ?? new Error('stream closed while waiting for drain')) }
    const onAbort = (): void => { cleanup(); reject(signal?.reason) }
    stream.addEventListener('drain', onDrain)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

/** Sends `data`, waiting for the write buffer to drain when it is full (see waitForDrain). */
export async function sendWithBackpressure (stream: Stream, data: Uint8Array, signal?: AbortSignal, timeoutMs?: number): Promise<void> {
  if (!stream.send(data)) await waitForDrain(stream, signal, timeoutMs)
}

export interface ExchangeOptions extends AbortOptions {
  maxResponseBytes?: number
  decodeLimits?: Record<string, number>
}

/** Writes one request frame, reads one response frame, closes the stream. */
export async function exchange<Req, Res> (stream: Stream, request: Req, requestCodec: Codec<Req>, responseCodec: Codec<Res>, options: ExchangeOptions): Promise<Res> {
  const pb = pbStream(stream, { maxDataLength: options.maxResponseBytes ?? MAX_CONTROL_FRAME })
  try {
    await pb.write(request, requestCodec, options)
    const response = await pb.read(responseCodec, { signal: options.signal, limits: options.decodeLimits } as any)
    await stream.close(options).catch(() => {})
    return response
  } catch (err: any) {
    stream.abort(err)
    throw err
  }
}

/**
 * Serves one request/response exchange on an inbound stream: reads a request (bounded to
 * `maxRequestBytes`, within `timeoutMs`), answers with `handle`'s response and closes.
 */
export async function serveExchange<Req, Res> (stream: Stream, requestCodec: Codec<Req>, responseCodec: Codec<Res>, options: ServeExchangeOptions<Res>, handle: (request: Req) => Promise<Res> | Res): Promise<void> {
  const signal = AbortSignal.timeout(options.timeoutMs)
  const pb = pbStream(stream, { maxDataLength: options.maxRequestBytes })
  let response: Res
  try {
    let request: Req
    try {
      request = await pb.read(requestCodec, { signal, limits: options.decodeLimits } as any)
    } catch (err: any) {
      // a timeout or a closed stream has nobody to answer; a bad frame gets BAD_REQUEST
      if (signal.aborted || stream.status !== 'open') throw err
      response = options.badRequest(err?.message ?? String(err))
      await pb.write(response, responseCodec, { signal })
      await stream.close({ signal })
      return
    }
    try {
      response = await handle(request)
    } catch (err: any) {
      response = options.internalError(err?.message ?? String(err))
    }
    await pb.write(response, responseCodec, { signal })
    await stream.close({ signal })
  } catch (err: any) {
    stream.abort(err)
  }
}

export interface ServeExchangeOptions<Res> {
  maxRequestBytes: number
  timeoutMs: number
  decodeLimits?: Record<string, number>
  /** the response for a request that could not be decoded */
  badRequest: (message: string) => Res
  /** the response when the handler threw */
  internalError: (message: string) => Res
}
