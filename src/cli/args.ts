/**
 * Command-line parsing on node:util parseArgs (strict: an unknown option or a missing
 * value is a usage error, exit 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { FileShareError } from '../errors.js'
import { parseTransports, type TransportName } from '../node/addresses.js'

export type Options = NonNullable<ParseArgsConfig['options']>

export function parse (argv: string[], options: Options, usage: string): { values: Record<string, any>, positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
    return { values, positionals }
  } catch (err: any) {
    throw new FileShareError('USAGE', `${err?.message ?? err}\n${usage}`)
  }
}

/** Resolves on SIGINT or SIGTERM (and aborts `controller`). */
export function onShutdownSignal (controller: AbortController): Promise<NodeJS.Signals> {
  return new Promise(resolve => {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
      controller.abort(new Error(`interrupted by ${signal}`))
      resolve(signal)
    }
    process.on('SIGINT', handler)
    process.on('SIGTERM', handler)
  })
}

/** `--transport tcp|quic|tcp,quic` (repeatable): the transports to use, undefined when not given. */
export function transportsOption (values: Record<string, any>): TransportName[] | undefined {
  const given = values.transport as string[] | undefined
  if (given == null) return undefined
  try {
    return parseTransports(given)
  } catch (err: any) {
    throw new FileShareError('USAGE', `--transport: ${err?.message ?? err}`)
  }
}
