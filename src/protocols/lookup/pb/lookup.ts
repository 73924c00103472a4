import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface LookupRequest {
  kind: LookupRequest.Kind
  id: Uint8Array
  query: string
  peer: Uint8Array
  limit: number
  exclude: Uint8Array[]
}

export namespace LookupRequest {
  export enum Kind {
    PROVIDERS = 'PROVIDERS',
    SEARCH = 'SEARCH',
    PEER = 'PEER',
    NAME = 'NAME'
  }

  enum __KindValues {
    PROVIDERS = 0,
    SEARCH = 1,
    PEER = 2,
    NAME = 3
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<LookupRequest>

  export const codec = (): Codec<LookupRequest> => {
    if (_codec == null) {
      _codec = message<LookupRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          LookupRequest.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.id)
        }

        if ((obj.query != null && obj.query !== '')) {
          w.uint32(26)
          w.string(obj.query)
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.peer)
        }

        if ((obj.limit != null && obj.limit !== 0)) {
          w.uint32(40)
          w.uint32(obj.limit)
        }

        if (obj.exclude != null && obj.exclude.length > 0) {
          for (const value of obj.exclude) {
            w.uint32(50)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.PROVIDERS,
          id: uint8ArrayAlloc(0),
          query: '',
          peer: uint8ArrayAlloc(0),
          limit: 0,
          exclude: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = LookupRequest.Kind.codec().decode(reader)
              break
            }
            case 2: {
              obj.id = reader.bytes()
              break
            }
            case 3: {
              obj.query = reader.string()
              break
            }
            case 4: {
              obj.peer = reader.bytes()
              break
            }
            case 5: {
              obj.limit = reader.uint32()
              break
            }
            case 6: {
              if (opts.limits?.exclude != null && obj.exclude.length === opts.limits.exclude) {
                throw new MaxLengthError('Decode error - repeated field "exclude" had too many elements')
              }

              obj.exclude.push(reader.bytes())
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
          exclude: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.kind`,
                value: LookupRequest.Kind.codec().decode(reader)
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
                field: `${prefix}.query`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.limit`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              if (opts.limits?.exclude != null && obj.exclude === opts.limits.exclude) {
                throw new MaxLengthError('Streaming decode error - repeated field "exclude" had too many elements')
              }

              yield {
                field: `${prefix}.exclude[]`,
                index: obj.exclude,
                value: reader.bytes()
              }

              obj.exclude++

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

  export interface LookupRequestKindFieldEvent {
    field: '$.kind'
    value: LookupRequest.Kind
  }

  export interface LookupRequestIdFieldEvent {
    field: '$.id'
    value: Uint8Array
  }

  export interface LookupRequestQueryFieldEvent {
    field: '$.query'
    value: string
  }

  export interface LookupRequestPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array
  }

  export interface LookupRequestLimitFieldEvent {
    field: '$.limit'
    value: number
  }

  export interface LookupRequestExcludeFieldEvent {
    field: '$.exclude[]'
    index: number
    value: Uint8Array
  }

  export function encode (obj: Partial<LookupRequest>): Uint8Array {
    return encodeMessage(obj, LookupRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LookupRequest>): LookupRequest {
    return decodeMessage(buf, LookupRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LookupRequest>): Generator<LookupRequestKindFieldEvent | LookupRequestIdFieldEvent | LookupRequestQueryFieldEvent | LookupRequestPeerFieldEvent | LookupRequestLimitFieldEvent | LookupRequestExcludeFieldEvent> {
    return streamMessage(buf, LookupRequest.codec(), opts)
  }
}

export interface PeerInfo {
  peer: Uint8Array
  addrs: Uint8Array[]
  partial?: boolean
}

export namespace PeerInfo {
  let _codec: Codec<PeerInfo>

  export const codec = (): Codec<PeerInfo> => {
    if (_codec == null) {
      _codec = message<PeerInfo>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.peer)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(18)
            w.bytes(value)
          }
        }

        if (obj.partial != null) {
          w.uint32(24)
          w.bool(obj.partial)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peer: uint8ArrayAlloc(0),
          addrs: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peer = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 3: {
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
        const obj = {
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            case 3: {
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

  export interface PeerInfoPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array
  }

  export interface PeerInfoAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array
  }

  export interface PeerInfoPartialFieldEvent {
    field: '$.partial'
    value: boolean
  }

  export function encode (obj: Partial<PeerInfo>): Uint8Array {
    return encodeMessage(obj, PeerInfo.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerInfo>): PeerInfo {
    return decodeMessage(buf, PeerInfo.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerInfo>): Generator<PeerInfoPeerFieldEvent | PeerInfoAddrsFieldEvent | PeerInfoPartialFieldEvent> {
    return streamMessage(buf, PeerInfo.codec(), opts)
  }
}

export interface SearchHit {
  id: Uint8Array
  name: string
  path: string
  size: number
  providers: number
  seeders?: number
}

export namespace SearchHit {
  let _codec: Codec<SearchHit>

  export const codec = (): Codec<SearchHit> => {
    if (_codec == null) {
      _codec = message<SearchHit>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.id)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if ((obj.path != null && obj.path !== '')) {
          w.uint32(26)
          w.string(obj.path)
        }

        if ((obj.size != null && obj.size !== 0)) {
          w.uint32(32)
          w.uint64Number(obj.size)
        }

        if ((obj.providers != null && obj.providers !== 0)) {
          w.uint32(40)
          w.uint32(obj.providers)
        }

        if (obj.seeders != null) {
          w.uint32(48)
          w.uint32(obj.seeders)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: uint8ArrayAlloc(0),
          name: '',
          path: '',
          size: 0,
          providers: 0
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
              obj.name = reader.string()
              break
            }
            case 3: {
              obj.path = reader.string()
              break
            }
            case 4: {
              obj.size = reader.uint64Number()
              break
            }
            case 5: {
              obj.providers = reader.uint32()
              break
            }
            case 6: {
              obj.seeders = reader.uint32()
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
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.path`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64Number()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.providers`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.seeders`,
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

  export interface SearchHitIdFieldEvent {
    field: '$.id'
    value: Uint8Array
  }

  export interface SearchHitNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface SearchHitPathFieldEvent {
    field: '$.path'
    value: string
  }

  export interface SearchHitSizeFieldEvent {
    field: '$.size'
    value: number
  }

  export interface SearchHitProvidersFieldEvent {
    field: '$.providers'
    value: number
  }

  export interface SearchHitSeedersFieldEvent {
    field: '$.seeders'
    value: number
  }

  export function encode (obj: Partial<SearchHit>): Uint8Array {
    return encodeMessage(obj, SearchHit.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SearchHit>): SearchHit {
    return decodeMessage(buf, SearchHit.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SearchHit>): Generator<SearchHitIdFieldEvent | SearchHitNameFieldEvent | SearchHitPathFieldEvent | SearchHitSizeFieldEvent | SearchHitProvidersFieldEvent | SearchHitSeedersFieldEvent> {
    return streamMessage(buf, SearchHit.codec(), opts)
  }
}

export interface LookupResponse {
  status: LookupResponse.Status
  message: string
  providers: PeerInfo[]
  hits: SearchHit[]
  peer?: PeerInfo
}

export namespace LookupResponse {
  export enum Status {
    OK = 'OK',
    NOT_FOUND = 'NOT_FOUND',
    ERROR = 'ERROR',
    RATE_LIMITED = 'RATE_LIMITED',
    BAD_REQUEST = 'BAD_REQUEST'
  }

  enum __StatusValues {
    OK = 0,
    NOT_FOUND = 1,
    ERROR = 2,
    RATE_LIMITED = 3,
    BAD_REQUEST = 4
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<LookupResponse>

  export const codec = (): Codec<LookupResponse> => {
    if (_codec == null) {
      _codec = message<LookupResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          LookupResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if (obj.providers != null && obj.providers.length > 0) {
          for (const value of obj.providers) {
            w.uint32(26)
            PeerInfo.codec().encode(value, w)
          }
        }

        if (obj.hits != null && obj.hits.length > 0) {
          for (const value of obj.hits) {
            w.uint32(34)
            SearchHit.codec().encode(value, w)
          }
        }

        if (obj.peer != null) {
          w.uint32(42)
          PeerInfo.codec().encode(obj.peer, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK,
          message: '',
          providers: [],
          hits: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = LookupResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.providers != null && obj.providers.length === opts.limits.providers) {
                throw new MaxLengthError('Decode error - repeated field "providers" had too many elements')
              }

              obj.providers.push(PeerInfo.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.providers$
              }))
              break
            }
            case 4: {
              if (opts.limits?.hits != null && obj.hits.length === opts.limits.hits) {
                throw new MaxLengthError('Decode error - repeated field "hits" had too many elements')
              }

              obj.hits.push(SearchHit.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hits$
              }))
              break
            }
            case 5: {
              obj.peer = PeerInfo.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.peer
              })
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
          providers: 0,
          hits: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: LookupResponse.Status.codec().decode(reader)
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
              if (opts.limits?.providers != null && obj.providers === opts.limits.providers) {
                throw new MaxLengthError('Streaming decode error - repeated field "providers" had too many elements')
              }

              for (const evt of PeerInfo.codec().stream(reader, reader.uint32(), `${prefix}.providers[]`, {
                limits: opts.limits?.providers$
              })) {
                yield {
                  ...evt,
                  index: obj.providers
                }
              }

              obj.providers++

              break
            }
            case 4: {
              if (opts.limits?.hits != null && obj.hits === opts.limits.hits) {
                throw new MaxLengthError('Streaming decode error - repeated field "hits" had too many elements')
              }

              for (const evt of SearchHit.codec().stream(reader, reader.uint32(), `${prefix}.hits[]`, {
                limits: opts.limits?.hits$
              })) {
                yield {
                  ...evt,
                  index: obj.hits
                }
              }

              obj.hits++

              break
            }
            case 5: {
              yield * PeerInfo.codec().stream(reader, reader.uint32(), `${prefix}.peer`, {
                limits: opts.limits?.peer
              })

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

  export interface LookupResponseStatusFieldEvent {
    field: '$.status'
    value: LookupResponse.Status
  }

  export interface LookupResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface LookupResponseProvidersPeerFieldEvent {
    field: '$.providers[].peer'
    value: Uint8Array
    index: number
  }

  export interface LookupResponseProvidersAddrsFieldEvent {
    field: '$.providers[].addrs[]'
    index: number
    value: Uint8Array
  }

  export interface LookupResponseProvidersPartialFieldEvent {
    field: '$.providers[].partial'
    value: boolean
    index: number
  }

  export interface LookupResponseHitsIdFieldEvent {
    field: '$.hits[].id'
    value: Uint8Array
    index: number
  }

  export interface LookupResponseHitsNameFieldEvent {
    field: '$.hits[].name'
    value: string
    index: number
  }

  export interface LookupResponseHitsPathFieldEvent {
    field: '$.hits[].path'
    value: string
    index: number
  }

  export interface LookupResponseHitsSizeFieldEvent {
    field: '$.hits[].size'
    value: number
    index: number
  }

  export interface LookupResponseHitsProvidersFieldEvent {
    field: '$.hits[].providers'
    value: number
    index: number
  }

  export interface LookupResponseHitsSeedersFieldEvent {
    field: '$.hits[].seeders'
    value: number
    index: number
  }

  export interface LookupResponsePeerPeerFieldEvent {
    field: '$.peer.peer'
    value: Uint8Array
  }

  export interface LookupResponsePeerAddrsFieldEvent {
    field: '$.peer.addrs[]'
    index: number
    value: Uint8Array
  }

  export interface LookupResponsePeerPartialFieldEvent {
    field: '$.peer.partial'
    value: boolean
  }

  export function encode (obj: Partial<LookupResponse>): Uint8Array {
    return encodeMessage(obj, LookupResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LookupResponse>): LookupResponse {
    return decodeMessage(buf, LookupResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LookupResponse>): Generator<LookupResponseStatusFieldEvent | LookupResponseMessageFieldEvent | LookupResponseProvidersPeerFieldEvent | LookupResponseProvidersAddrsFieldEvent | LookupResponseProvidersPartialFieldEvent | LookupResponseHitsIdFieldEvent | LookupResponseHitsNameFieldEvent | LookupResponseHitsPathFieldEvent | LookupResponseHitsSizeFieldEvent | LookupResponseHitsProvidersFieldEvent | LookupResponseHitsSeedersFieldEvent | LookupResponsePeerPeerFieldEvent | LookupResponsePeerAddrsFieldEvent | LookupResponsePeerPartialFieldEvent> {
    return streamMessage(buf, LookupResponse.codec(), opts)
  }
}
