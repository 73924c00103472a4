import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface FetchRequest {
  kind: FetchRequest.Kind
  id: Uint8Array
  index: number
  name: string
}

export namespace FetchRequest {
  export enum Kind {
    MANIFEST = 'MANIFEST',
    CHUNK = 'CHUNK',
    RESOLVE = 'RESOLVE',
    LIST = 'LIST',
    HAVE = 'HAVE'
  }

  enum __KindValues {
    MANIFEST = 0,
    CHUNK = 1,
    RESOLVE = 2,
    LIST = 3,
    HAVE = 4
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<FetchRequest>

  export const codec = (): Codec<FetchRequest> => {
    if (_codec == null) {
      _codec = message<FetchRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          FetchRequest.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.id)
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(24)
          w.uint32(obj.index)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(34)
          w.string(obj.name)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.MANIFEST,
          id: uint8ArrayAlloc(0),
          index: 0,
          name: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = FetchRequest.Kind.codec().decode(reader)
              break
            }
            case 2: {
              obj.id = reader.bytes()
              break
            }
            case 3: {
              obj.index = reader.uint32()
              break
            }
            case 4: {
              obj.name = reader.string()
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
                field: `${prefix}.kind`,
                value: FetchRequest.Kind.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.id`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
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

  export interface FetchRequestKindFieldEvent {
    field: '$.kind'
    value: FetchRequest.Kind
  }

  export interface FetchRequestIdFieldEvent {
    field: '$.id'
    value: Uint8Array
  }

  export interface FetchRequestIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface FetchRequestNameFieldEvent {
    field: '$.name'
    value: string
  }

  export function encode (obj: Partial<FetchRequest>): Uint8Array {
    return encodeMessage(obj, FetchRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchRequest>): FetchRequest {
    return decodeMessage(buf, FetchRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchRequest>): Generator<FetchRequestKindFieldEvent | FetchRequestIdFieldEvent | FetchRequestIndexFieldEvent | FetchRequestNameFieldEvent> {
    return streamMessage(buf, FetchRequest.codec(), opts)
  }
}

export interface FetchResponse {
  status: FetchResponse.Status
  message: string
  index: number
  length: number
  have: number[]
}

export namespace FetchResponse {
  export enum Status {
    OK = 'OK',
    NOT_FOUND = 'NOT_FOUND',
    ERROR = 'ERROR',
    BUSY = 'BUSY',
    BAD_REQUEST = 'BAD_REQUEST',
    CHANGED = 'CHANGED',
    HAVE = 'HAVE'
  }

  enum __StatusValues {
    OK = 0,
    NOT_FOUND = 1,
    ERROR = 2,
    BUSY = 3,
    BAD_REQUEST = 4,
    CHANGED = 5,
    HAVE = 6
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<FetchResponse>

  export const codec = (): Codec<FetchResponse> => {
    if (_codec == null) {
      _codec = message<FetchResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          FetchResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(24)
          w.uint32(obj.index)
        }

        if ((obj.length != null && obj.length !== 0)) {
          w.uint32(32)
          w.uint32(obj.length)
        }

        if (obj.have != null && obj.have.length > 0) {
          for (const value of obj.have) {
            w.uint32(40)
            w.uint32(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK,
          message: '',
          index: 0,
          length: 0,
          have: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = FetchResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              obj.index = reader.uint32()
              break
            }
            case 4: {
              obj.length = reader.uint32()
              break
            }
            case 5: {
              if (opts.limits?.have != null && obj.have.length === opts.limits.have) {
                throw new MaxLengthError('Decode error - repeated field "have" had too many elements')
              }

              obj.have.push(reader.uint32())
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
          have: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: FetchResponse.Status.codec().decode(reader)
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
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.length`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              if (opts.limits?.have != null && obj.have === opts.limits.have) {
                throw new MaxLengthError('Streaming decode error - repeated field "have" had too many elements')
              }

              yield {
                field: `${prefix}.have[]`,
                index: obj.have,
                value: reader.uint32()
              }

              obj.have++

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

  export interface FetchResponseStatusFieldEvent {
    field: '$.status'
    value: FetchResponse.Status
  }

  export interface FetchResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface FetchResponseIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface FetchResponseLengthFieldEvent {
    field: '$.length'
    value: number
  }

  export interface FetchResponseHaveFieldEvent {
    field: '$.have[]'
    index: number
    value: number
  }

  export function encode (obj: Partial<FetchResponse>): Uint8Array {
    return encodeMessage(obj, FetchResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchResponse>): FetchResponse {
    return decodeMessage(buf, FetchResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FetchResponse>): Generator<FetchResponseStatusFieldEvent | FetchResponseMessageFieldEvent | FetchResponseIndexFieldEvent | FetchResponseLengthFieldEvent | FetchResponseHaveFieldEvent> {
    return streamMessage(buf, FetchResponse.codec(), opts)
  }
}

export interface Manifest {
  size: number
  chunkSize: number
  chunkHashes: Uint8Array
  name: string
}

export namespace Manifest {
  let _codec: Codec<Manifest>

  export const codec = (): Codec<Manifest> => {
    if (_codec == null) {
      _codec = message<Manifest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.size != null && obj.size !== 0)) {
          w.uint32(8)
          w.uint64Number(obj.size)
        }

        if ((obj.chunkSize != null && obj.chunkSize !== 0)) {
          w.uint32(16)
          w.uint32(obj.chunkSize)
        }

        if ((obj.chunkHashes != null && obj.chunkHashes.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.chunkHashes)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(34)
          w.string(obj.name)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          size: 0,
          chunkSize: 0,
          chunkHashes: uint8ArrayAlloc(0),
          name: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.size = reader.uint64Number()
              break
            }
            case 2: {
              obj.chunkSize = reader.uint32()
              break
            }
            case 3: {
              obj.chunkHashes = reader.bytes()
              break
            }
            case 4: {
              obj.name = reader.string()
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
                field: `${prefix}.size`,
                value: reader.uint64Number()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.chunkSize`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.chunkHashes`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
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

  export interface ManifestSizeFieldEvent {
    field: '$.size'
    value: number
  }

  export interface ManifestChunkSizeFieldEvent {
    field: '$.chunkSize'
    value: number
  }

  export interface ManifestChunkHashesFieldEvent {
    field: '$.chunkHashes'
    value: Uint8Array
  }

  export interface ManifestNameFieldEvent {
    field: '$.name'
    value: string
  }

  export function encode (obj: Partial<Manifest>): Uint8Array {
    return encodeMessage(obj, Manifest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Manifest>): Manifest {
    return decodeMessage(buf, Manifest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Manifest>): Generator<ManifestSizeFieldEvent | ManifestChunkSizeFieldEvent | ManifestChunkHashesFieldEvent | ManifestNameFieldEvent> {
    return streamMessage(buf, Manifest.codec(), opts)
  }
}

export interface NameMatch {
  id: Uint8Array
  path: string
  size: number
}

export namespace NameMatch {
  let _codec: Codec<NameMatch>

  export const codec = (): Codec<NameMatch> => {
    if (_codec == null) {
      _codec = message<NameMatch>((obj, w, opts = {}) => {
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

  export interface NameMatchIdFieldEvent {
    field: '$.id'
    value: Uint8Array
  }

  export interface NameMatchPathFieldEvent {
    field: '$.path'
    value: string
  }

  export interface NameMatchSizeFieldEvent {
    field: '$.size'
    value: number
  }

  export function encode (obj: Partial<NameMatch>): Uint8Array {
    return encodeMessage(obj, NameMatch.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NameMatch>): NameMatch {
    return decodeMessage(buf, NameMatch.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NameMatch>): Generator<NameMatchIdFieldEvent | NameMatchPathFieldEvent | NameMatchSizeFieldEvent> {
    return streamMessage(buf, NameMatch.codec(), opts)
  }
}

export interface NameMatches {
  matches: NameMatch[]
}

export namespace NameMatches {
  let _codec: Codec<NameMatches>

  export const codec = (): Codec<NameMatches> => {
    if (_codec == null) {
      _codec = message<NameMatches>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.matches != null && obj.matches.length > 0) {
          for (const value of obj.matches) {
            w.uint32(10)
            NameMatch.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          matches: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.matches != null && obj.matches.length === opts.limits.matches) {
                throw new MaxLengthError('Decode error - repeated field "matches" had too many elements')
              }

              obj.matches.push(NameMatch.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.matches$
              }))
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
          matches: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.matches != null && obj.matches === opts.limits.matches) {
                throw new MaxLengthError('Streaming decode error - repeated field "matches" had too many elements')
              }

              for (const evt of NameMatch.codec().stream(reader, reader.uint32(), `${prefix}.matches[]`, {
                limits: opts.limits?.matches$
              })) {
                yield {
                  ...evt,
                  index: obj.matches
                }
              }

              obj.matches++

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

  export interface NameMatchesMatchesIdFieldEvent {
    field: '$.matches[].id'
    value: Uint8Array
    index: number
  }

  export interface NameMatchesMatchesPathFieldEvent {
    field: '$.matches[].path'
    value: string
    index: number
  }

  export interface NameMatchesMatchesSizeFieldEvent {
    field: '$.matches[].size'
    value: number
    index: number
  }

  export function encode (obj: Partial<NameMatches>): Uint8Array {
    return encodeMessage(obj, NameMatches.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NameMatches>): NameMatches {
    return decodeMessage(buf, NameMatches.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<NameMatches>): Generator<NameMatchesMatchesIdFieldEvent | NameMatchesMatchesPathFieldEvent | NameMatchesMatchesSizeFieldEvent> {
    return streamMessage(buf, NameMatches.codec(), opts)
  }
}

export interface FileList {
  files: NameMatch[]
  total: number
}

export namespace FileList {
  let _codec: Codec<FileList>

  export const codec = (): Codec<FileList> => {
    if (_codec == null) {
      _codec = message<FileList>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.files != null && obj.files.length > 0) {
          for (const value of obj.files) {
            w.uint32(10)
            NameMatch.codec().encode(value, w)
          }
        }

        if ((obj.total != null && obj.total !== 0)) {
          w.uint32(16)
          w.uint32(obj.total)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          files: [],
          total: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.files != null && obj.files.length === opts.limits.files) {
                throw new MaxLengthError('Decode error - repeated field "files" had too many elements')
              }

              obj.files.push(NameMatch.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.files$
              }))
              break
            }
            case 2: {
              obj.total = reader.uint32()
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
          files: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.files != null && obj.files === opts.limits.files) {
                throw new MaxLengthError('Streaming decode error - repeated field "files" had too many elements')
              }

              for (const evt of NameMatch.codec().stream(reader, reader.uint32(), `${prefix}.files[]`, {
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
            case 2: {
              yield {
                field: `${prefix}.total`,
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

  export interface FileListFilesIdFieldEvent {
    field: '$.files[].id'
    value: Uint8Array
    index: number
  }

  export interface FileListFilesPathFieldEvent {
    field: '$.files[].path'
    value: string
    index: number
  }

  export interface FileListFilesSizeFieldEvent {
    field: '$.files[].size'
    value: number
    index: number
  }

  export interface FileListTotalFieldEvent {
    field: '$.total'
    value: number
  }

  export function encode (obj: Partial<FileList>): Uint8Array {
    return encodeMessage(obj, FileList.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileList>): FileList {
    return decodeMessage(buf, FileList.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<FileList>): Generator<FileListFilesIdFieldEvent | FileListFilesPathFieldEvent | FileListFilesSizeFieldEvent | FileListTotalFieldEvent> {
    return streamMessage(buf, FileList.codec(), opts)
  }
}
