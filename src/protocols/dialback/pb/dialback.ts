import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface DialBackRequest {
  addrs: Uint8Array[]
}

export namespace DialBackRequest {
  let _codec: Codec<DialBackRequest>

  export const codec = (): Codec<DialBackRequest> => {
    if (_codec == null) {
      _codec = message<DialBackRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(10)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          addrs: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
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

  export interface DialBackRequestAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array
  }

  export function encode (obj: Partial<DialBackRequest>): Uint8Array {
    return encodeMessage(obj, DialBackRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DialBackRequest>): DialBackRequest {
    return decodeMessage(buf, DialBackRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DialBackRequest>): Generator<DialBackRequestAddrsFieldEvent> {
    return streamMessage(buf, DialBackRequest.codec(), opts)
  }
}

export interface DialBackResponse {
  status: DialBackResponse.Status
  message: string
  reachable: Uint8Array[]
  observed: Uint8Array
}

export namespace DialBackResponse {
  export enum Status {
    OK = 'OK',
    BAD_REQUEST = 'BAD_REQUEST',
    RATE_LIMITED = 'RATE_LIMITED',
    ERROR = 'ERROR'
  }

  enum __StatusValues {
    OK = 0,
    BAD_REQUEST = 1,
    RATE_LIMITED = 2,
    ERROR = 3
  }

  export namespace Status {
    export const codec = (): Codec<Status> => {
      return enumeration<Status>(__StatusValues)
    }
  }

  let _codec: Codec<DialBackResponse>

  export const codec = (): Codec<DialBackResponse> => {
    if (_codec == null) {
      _codec = message<DialBackResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.status != null && __StatusValues[obj.status] !== 0) {
          w.uint32(8)
          DialBackResponse.Status.codec().encode(obj.status, w)
        }

        if ((obj.message != null && obj.message !== '')) {
          w.uint32(18)
          w.string(obj.message)
        }

        if (obj.reachable != null && obj.reachable.length > 0) {
          for (const value of obj.reachable) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if ((obj.observed != null && obj.observed.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.observed)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          status: Status.OK,
          message: '',
          reachable: [],
          observed: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.status = DialBackResponse.Status.codec().decode(reader)
              break
            }
            case 2: {
              obj.message = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.reachable != null && obj.reachable.length === opts.limits.reachable) {
                throw new MaxLengthError('Decode error - repeated field "reachable" had too many elements')
              }

              obj.reachable.push(reader.bytes())
              break
            }
            case 4: {
              obj.observed = reader.bytes()
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
          reachable: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.status`,
                value: DialBackResponse.Status.codec().decode(reader)
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
              if (opts.limits?.reachable != null && obj.reachable === opts.limits.reachable) {
                throw new MaxLengthError('Streaming decode error - repeated field "reachable" had too many elements')
              }

              yield {
                field: `${prefix}.reachable[]`,
                index: obj.reachable,
                value: reader.bytes()
              }

              obj.reachable++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.observed`,
                value: reader.bytes()
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

  export interface DialBackResponseStatusFieldEvent {
    field: '$.status'
    value: DialBackResponse.Status
  }

  export interface DialBackResponseMessageFieldEvent {
    field: '$.message'
    value: string
  }

  export interface DialBackResponseReachableFieldEvent {
    field: '$.reachable[]'
    index: number
    value: Uint8Array
  }

  export interface DialBackResponseObservedFieldEvent {
    field: '$.observed'
    value: Uint8Array
  }

  export function encode (obj: Partial<DialBackResponse>): Uint8Array {
    return encodeMessage(obj, DialBackResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DialBackResponse>): DialBackResponse {
    return decodeMessage(buf, DialBackResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<DialBackResponse>): Generator<DialBackResponseStatusFieldEvent | DialBackResponseMessageFieldEvent | DialBackResponseReachableFieldEvent | DialBackResponseObservedFieldEvent> {
    return streamMessage(buf, DialBackResponse.codec(), opts)
  }
}
