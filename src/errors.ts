/**
 * Typed errors. Every error the CLI reports carries a code; `exitCodeFor` maps it to the
 * process exit status (2 for usage errors, 1 for every other failure).
 */

export type ErrorCode =
  | 'USAGE'
  | 'NOT_FOUND'
  | 'AMBIGUOUS_NAME'
  | 'NO_PROVIDER'
  | 'VERIFICATION_FAILED'
  | 'NETWORK'
  | 'NO_MASTER'
  | 'PROTOCOL'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  /** the master cannot store more (a full disk or its global record cap) */
  | 'STORAGE_FULL'
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

export class UsageError extends FileShareError {
  constructor (message: string) {
    super('USAGE', message)
    this.name = 'UsageError'
  }
}

export class ProtocolError extends FileShareError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('PROTOCOL', message, options)
    this.name = 'ProtocolError'
  }
}

export function exitCodeFor (err: unknown): number {
  return err instanceof FileShareError && err.code === 'USAGE' ? 2 : 1
}

/** Wraps anything thrown into a FileShareError, keeping codes that are already there. */
export function toFileShareError (err: unknown, fallback: ErrorCode = 'INTERNAL'): FileShareError {
  if (err instanceof FileShareError) return err
  const e = err as { name?: string, code?: string, message?: string }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return new FileShareError('NETWORK', `timed out: ${e.message ?? ''}`.trim(), { cause: err })
  }
  if (typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code) && e.code !== 'ERR_') {
    if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE'].includes(e.code)) {
      return new FileShareError('NETWORK', e.message ?? e.code, { cause: err })
    }
    return new FileShareError('IO', e.message ?? e.code, { cause: err })
  }
  const name = e?.name ?? ''
  if (/Dial|Connection|Stream|Mux|Transport|Peer|Timeout|Abort|Reset|Unsupported|Limited|Encryption/i.test(name)) {
    return new FileShareError('NETWORK', `${name}: ${e.message ?? ''}`, { cause: err })
  }
  return new FileShareError(fallback, e?.message ?? String(err), { cause: err })
}
