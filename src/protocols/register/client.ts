/**
 * /fileshare/register/1.0.0, the peer's side (the protocol is described in index.ts):
 * one request per stream; a whole file list goes as RESET then ADD batches of
 * REGISTER_BATCH. Any answer but OK is thrown as a FileShareError with the matching code.
 */
import { RegisterRequest, RegisterResponse, type SharedFile } from './pb/register.js'
import { PROTOCOL_REGISTER, REGISTER_BATCH } from './constants.js'
import { MAX_CONTROL_FRAME } from '../constants.js'
import type { MasterLink } from '../master-link.js'
import { FileShareError } from '../../errors.js'

export type { SharedFile }

export class RegisterClient {
  constructor (private readonly link: MasterLink) {}

  /** Sends one request; `signal` replaces the usual REQUEST_TIMEOUT_MS (a stopping peer waits less). */
  async send (request: RegisterRequest, signal?: AbortSignal): Promise<RegisterResponse> {
    const res = await this.link.call<RegisterRequest, RegisterResponse>(PROTOCOL_REGISTER, request, RegisterRequest, RegisterResponse, { maxResponseBytes: MAX_CONTROL_FRAME, signal })
    if (res.status !== RegisterResponse.Status.OK) {
      throw new FileShareError(registerErrorCode(res.status), `master refused registration: ${res.status} ${res.message}`)
    }
    return res
  }

  /** Replaces everything the master holds for us with `files` (RESET, then ADD batches); returns the master's count. */
  async announce (files: Iterable<SharedFile>): Promise<number> {
    let batch: SharedFile[] = []
    let first = true
    let count = 0
    for (const file of files) {
      batch.push(file)
      if (batch.length === REGISTER_BATCH) {
        count = (await this.send({ op: first ? RegisterRequest.Op.RESET : RegisterRequest.Op.ADD, files: batch, paths: [] })).files
        first = false
        batch = []
      }
    }
    if (first || batch.length > 0) {
      count = (await this.send({ op: first ? RegisterRequest.Op.RESET : RegisterRequest.Op.ADD, files: batch, paths: [] })).files
    }
    return count
  }

  /** Adds or updates at most REGISTER_BATCH files; returns the master's count. */
  async add (files: SharedFile[]): Promise<number> {
    return (await this.send({ op: RegisterRequest.Op.ADD, files: files.slice(0, REGISTER_BATCH), paths: [] })).files
  }

  /** Removes at most REGISTER_BATCH paths; returns the master's count. */
  async remove (paths: string[]): Promise<number> {
    return (await this.send({ op: RegisterRequest.Op.REMOVE, files: [], paths: paths.slice(0, REGISTER_BATCH) })).files
  }

  /** Withdraws everything (an empty RESET). */
  async withdraw (signal?: AbortSignal): Promise<void> {
    await this.send({ op: RegisterRequest.Op.RESET, files: [], paths: [] }, signal)
  }
}

function registerErrorCode (status: RegisterResponse.Status): 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'STORAGE_FULL' | 'PROTOCOL' {
  if (status === RegisterResponse.Status.RATE_LIMITED) return 'RATE_LIMITED'
  if (status === RegisterResponse.Status.STORAGE_FULL) return 'STORAGE_FULL'
  if (status === RegisterResponse.Status.QUOTA_EXCEEDED) return 'QUOTA_EXCEEDED'
  return 'PROTOCOL'
}
