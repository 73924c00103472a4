import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface SharedFile {
  id: Uint8Array
  path: string
  size: number
  partial?: boolean
}

export namespace SharedFile {
  let _codec: Codec<SharedFile>

  export const codec = (): Codec<SharedFile> => {
    if (_codec == null) {
      _codec = message<SharedFile>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.path != null && obj.path !== '')) {
          w.uint32(18)
          w.string(obj.path)
        }

        if ((obj.size != null && obj.size !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.size)
        }

        if (obj.partial != null) {
          w.uint32(32)
          w.bool(obj.partial)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          path: '',
          size: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.bytes()
              break
            }
            case 2: {
              obj.path = reader.string()
              break
            }
            case 3: {
              obj.size = reader.uint64Number()
              break
            }
            case 4: {
              obj.partial = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.path`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.partial`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SharedFileIdFieldEvent {
    field: '$.id'
    value: Uint8Array
  }

  export interface SharedFilePathFieldEvent {
    field: '$.path'
    value: string
  }

  export interface SharedFileSizeFieldEvent {
    field: '$.size'
    value: number
  }

  export interface SharedFilePartialFieldEvent {
    field: '$.partial'
    value: boolean
  }

  export function encode (obj: Partial<SharedFile>): Uint8Array {
    return encodeMessage(obj, SharedFile.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SharedFile>): SharedFile {
    return decodeMessage(buf, SharedFile.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SharedFile>): Generator<SharedFileIdFieldEvent | SharedFilePathFieldEvent | SharedFileSizeFieldEvent | SharedFilePartialFieldEvent> {
    return streamMessage(buf, SharedFile.codec(), opts)
  }
}

export interface RegisterRequest {
  op: RegisterRequest.Op
  files: SharedFile[]
  paths: string[]
}

export namespace RegisterRequest {
  export enum Op {
    ADD = 'ADD',
    RESET = 'RESET',
    REMOVE = 'REMOVE'
  }

  enum __OpValues {
    ADD = 0,
    RESET = 1,
    REMOVE = 2
  }

  export namespace Op {
    export const codec = (): Codec<Op> => {
      return enumeration<Op>(__OpValues)
    }
  }

  let _codec: Codec<RegisterRequest>

  export const codec = (): Codec<RegisterRequest> => {
    if (_codec == null) {
      _codec = message<RegisterRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.op != null && __OpValues[obj.op] !== 0) {
          w.uint32(8)
          RegisterRequest.Op.codec().encode(obj.op, w)
        }

        if (obj.files != null && obj.files.length > 0) {
          for (const value of obj.files) {
            w.uint32(18)
            SharedFile.codec().encode(value, w)
          }
        }

        if (obj.paths != null && obj.paths.length > 0) {
          for (const value of obj.paths) {
            w.uint32(26)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          op: Op.ADD,
          files: [],
          paths: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.op = RegisterRequest.Op.codec().decode(reader)
              break
            }
            case 2: {
              if (opts.limits?.files != null && obj.files.length === opts.limits.files) {
                throw new MaxLengthError('Decode error - repeated field "files" had too many elements')
              }

              obj.files.push(SharedFile.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.files$
              }))
              break
            }
            case 3: {
              if (opts.limits?.paths != null && obj.paths.length === opts.limits.paths) {
                throw new MaxLengthError('Decode error - repeated field "paths" had too many elements')
              }

              obj.paths.push(reader.string())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          files: 0,
          paths: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.op`,
                value: RegisterRequest.Op.codec().decode(reader)
              }
              break
            }
            case 2: {
              if (opts.limits?.files != null && obj.files === opts.limits.files) {
                throw new MaxLengthError('Streaming decode error - repeated field "files" had too many elements')
              }

              for (const evt of SharedFile.codec().stream(reader, reader.uint32(), `${prefix}.files[]`, {
                limits: opts.limits?.files$
              })) {
                yield {
                  ...evt,
                  index: obj.files
                }
              }

              obj.files++

              break
            }
            case 3: {
              if (opts.limits?.paths != null && obj.paths === opts.limits.paths) {
                throw new MaxLengthError('Streaming decode error - repeated field "paths" had too many elements')
              }

              yield {
                field: `${prefix}.paths[]`,
                index: obj.paths,
                value: reader.string()
              }

              obj.paths++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RegisterRequestOpFieldEvent {
    field: '$.op'
    value: RegisterRequest.Op
  }

  export interface RegisterRequestFilesIdFieldEvent {
    field: '$.files[].id'
    value: Uint8Array
    index: number
  }

  export interface RegisterRequestFilesPathFieldEvent {
    field: '$.files[].path'
    value: string
    index: number
  }

  export interface RegisterRequestFilesSizeFieldEvent {
    field: '$.files[].size'
    value: number
    index: number
  }

  export interface RegisterRequestFilesPartialFieldEvent {
    field: '$.files[].partial'
    value: boolean
    index: number
  }

  export interface RegisterRequestPathsFieldEvent {
    field: '$.paths[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<RegisterRequest>): Uint8Array {
    return encodeMessage(obj, RegisterRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RegisterRequest>): RegisterRequest {
    return decodeMessage(buf, RegisterRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RegisterRequest>): Generator<RegisterRequestOpFieldEvent | RegisterRequestFilesIdFieldEvent | RegisterRequestFilesPathFieldEvent | RegisterRequestFilesSizeFieldEvent | RegisterRequestFilesPartialFieldEvent | RegisterRequestPathsFieldEvent> {
    return streamMessage(buf, RegisterRequest.codec(), opts)
  }
}

export interface RegisterResponse {
  status: RegisterResponse.Status
  message: string
  files: number
}

export namespace RegisterResponse {
  export enum Status {
    OK = 'OK',
    ERROR = 'ERROR',
    RATE_LIMITED = 'RATE_LIMITED',
    QUOTA_EXCEEDED = 'QUOTA_EXCEEDED',
    BAD_REQUEST = 'BAD_REQUEST',
    STORAGE_FULL = 'STORAGE_FULL'
  }

  enum __StatusValues {
    OK = 0,
    ERROR = 1,
    RATE_LIMITED = 2,
    QUOTA_EXCEEDED = 3,
    BAD_REQUEST = 4,
    STORAGE_FULL = 5
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<RegisterResponse>

  export const codec = (): Codec<RegisterResponse> => {
    if (_codec == null) {
      _codec = message<RegisterResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          RegisterResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if ((obj.files != null && obj.files !== 0)) {
          w.uint32(24)
          w.uint32(obj.files)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK,
          message: '',
          files: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = RegisterResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.files = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: RegisterResponse.Status.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.files`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RegisterResponseStatusFieldEvent {
    field: '$.status'
    value: RegisterResponse.Status
  }

  export interface RegisterResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface RegisterResponseFilesFieldEvent {
    field: '$.files'
    value: number
  }

  export function encode (obj: Partial<RegisterResponse>): Uint8Array {
    return encodeMessage(obj, RegisterResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RegisterResponse>): RegisterResponse {
    return decodeMessage(buf, RegisterResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RegisterResponse>): Generator<RegisterResponseStatusFieldEvent | RegisterResponseMessageFieldEvent | RegisterResponseFilesFieldEvent> {
    return streamMessage(buf, RegisterResponse.codec(), opts)
  }
}
