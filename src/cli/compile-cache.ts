/**
 * Node's module compile cache (`module.enableCompileCache`, Node 22.1+; absent on Node 20,
 * where this does nothing). Imported first by the entry points, before the commands load
 * the heavy modules dynamically. FILESHARE_NO_COMPILE_CACHE=1 turns it off.
 */
import module from 'node:module'

const enable = (module as unknown as { enableCompileCache?: () => unknown }).enableCompileCache
if (typeof enable === 'function' && process.env.FILESHARE_NO_COMPILE_CACHE == null) {
  try { enable() } catch {}
}

export {}
