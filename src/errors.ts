/**
 * One kind of error: every failure the library reports is a `FileShareError` whose `code`
 * names the condition (switch on `code`, never on the class or the message). The CLI maps
 * the code to the exit status with `exitCodeFor` (2 for usage errors, 1 for every other failure).
 *
 * Errors of other libraries (libp2p, Node) become FileShareErrors in `toFileShareError`,
 * by an explicit table of the error names and system error codes that can reach us;
 * anything else takes the caller's fallback code.
 */

export type ErrorCode =
  /** bad arguments or options: unknown option, bad multiaddr, unreadable config (exit 2) */
  | 'USAGE'
  | 'NOT_FOUND'
  | 'AMBIGUOUS_NAME'
  | 'NO_PROVIDER'
  | 'VERIFICATION_FAILED'
  /** a dial, connection or stream failed, was reset or timed out */
  | 'NETWORK'
  /** a listen address could not be bound (port in use, address not on this machine, no permission) */
  | 'LISTEN'
  /** the data folder is in use by another running process (it holds the folder's lock) */
  | 'LOCKED'
  | 'NO_MASTER'
  /** the other side broke the protocol (malformed or unexpected message, unknown status) */
  | 'PROTOCOL'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  /** the master cannot store more (a full disk or its global record cap) */
  | 'STORAGE_FULL'
  /** a file system operation failed */
  | 'IO'
  | 'ABORTED'
  | 'INTERNAL'

export class FileShareError extends Error {
  readonly code: ErrorCode
  readonly details?: Record<string, unknown>

  constructor (code: ErrorCode, message: string, options?: { cause?: unknown, details?: Record<string, unknown> }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined)
    this.name = 'FileShareError'
    this.code = code
    this.details = options?.details
  }
}

export function exitCodeFor (err: unknown): number {
  return err instanceof FileShareError && err.code === 'USAGE' ? 2 : 1
}

/**
 * The `name`s of errors thrown by libp2p and its modules (@libp2p/interface errors.ts,
 * libp2p, @libp2p/utils, @libp2p/tcp, @libp2p/circuit-relay-v2, @chainsafe/libp2p-yamux,
 * @chainsafe/libp2p-noise) that reach FileShare code through dials, streams and listens,
 * and the code each becomes. `TimeoutError` is also the name of the DOMException an
 * `AbortSignal.timeout()` aborts with.
 */
export const LIBP2P_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  // dialling and connections
  DialError: 'NETWORK',
  DialDeniedError: 'NETWORK',
  ConnectionFailedError: 'NETWORK',
  ConnectionClosedError: 'NETWORK',
  ConnectionClosingError: 'NETWORK',
  ConnectionDeniedError: 'NETWORK',
  ConnectionInterceptedError: 'NETWORK',
  NoValidAddressesError: 'NETWORK',
  TransportUnavailableError: 'NETWORK',
  EncryptionFailedError: 'NETWORK',
  InvalidCryptoExchangeError: 'NETWORK',
  UnexpectedPeerError: 'NETWORK',
  MuxerClosedError: 'NETWORK',
  MuxerUnavailableError: 'NETWORK',
  // relayed connections
  LimitedConnectionError: 'NETWORK',
  TransferLimitError: 'NETWORK',
  DurationLimitError: 'NETWORK',
  HadEnoughRelaysError: 'NETWORK',
  DoubleRelayError: 'NETWORK',
  RelayQueueFullError: 'NETWORK',
  // streams
  StreamResetError: 'NETWORK',
  StreamAbortedError: 'NETWORK',
  StreamStateError: 'NETWORK',
  StreamBufferError: 'NETWORK',
  StreamClosedError: 'NETWORK',
  UnexpectedEOFError: 'NETWORK',
  TooManyInboundProtocolStreamsError: 'NETWORK',
  TooManyOutboundProtocolStreamsError: 'NETWORK',
  TimeoutError: 'NETWORK',
  AbortError: 'NETWORK',
  // the other side does not speak the protocol (version) we asked for
  UnsupportedProtocolError: 'PROTOCOL',
  InvalidMessageError: 'PROTOCOL',
  // listening
  ListenError: 'LISTEN',
  UnsupportedListenAddressError: 'LISTEN',
  UnsupportedListenAddressesError: 'LISTEN',
  // our own input
  InvalidMultiaddrError: 'USAGE',
  InvalidPeerIdError: 'USAGE',
  InvalidParametersError: 'USAGE'
}

/** Node system error codes (`err.code`) that mean the network failed; every other `E…` code is 'IO'. */
export const NETWORK_SYSTEM_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ETIMEDOUT', 'EPIPE'
])
/** Node system error codes of a listen that failed. */
export const LISTEN_SYSTEM_CODES: ReadonlySet<string> = new Set(['EADDRINUSE', 'EADDRNOTAVAIL'])

/** Wraps anything thrown into a FileShareError, keeping codes that are already there. */
export function toFileShareError (err: unknown, fallback: ErrorCode = 'INTERNAL'): FileShareError {
  if (err instanceof FileShareError) return err
  const e = err as { name?: string, code?: unknown, message?: string } | null | undefined
  const message = e?.message ?? String(err)
  const sys = typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) ? e.code : null
  if (sys != null) {
    const code: ErrorCode = NETWORK_SYSTEM_CODES.has(sys) ? 'NETWORK' : LISTEN_SYSTEM_CODES.has(sys) ? 'LISTEN' : 'IO'
    return new FileShareError(code, message, { cause: err })
  }
  const name = e?.name ?? ''
  const mapped = Object.hasOwn(LIBP2P_ERROR_CODES, name) ? LIBP2P_ERROR_CODES[name] : undefined
  if (mapped != null) {
    const text = name === 'TimeoutError' ? `timed out: ${message}`.trim() : `${name}: ${message}`
    return new FileShareError(mapped, text, { cause: err })
  }
  return new FileShareError(fallback, message, { cause: err })
}
