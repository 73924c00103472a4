/**
 * Signals: argument parsing lives in command.ts (option tables per command).
 */

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
