/**
 * The shared folder: walks it recursively (bounded memory: one directory handle at a time
 * per level, files hashed one after another), hashes new or changed files and keeps the
 * catalog equal to what is on disk. Symlinks are followed only when they resolve inside
 * the folder; download part files and the data folder are never shared.
 */
import { opendir, lstat, stat, realpath } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import type { Stats } from 'node:fs'
import { logger } from '@libp2p/logger'
import { hashFile } from '../../content/hash-file.js'
import { isSafeRelativePath } from '../../protocol/paths.js'
import type { Catalog } from '../catalog.js'

const log = logger('fileshare:peer:share')

export interface FoundFile {
  abs: string
  rel: string
  stat: Stats
}

/** True for names FileShare itself writes and never shares. */
export function isInternalName (name: string): boolean {
  return (name.startsWith('.') && name.endsWith('.part')) || name === '.fileshare'
}

export class ShareFolder {
  private rootReal = ''
  /** (size, mtime, inode) of what the catalog holds per relative path */
  private readonly known = new Map<string, string>()

  constructor (readonly root: string, private readonly catalog: Catalog, private readonly options: { exclude?: string[] } = {}) {}

  /** Brings the catalog in line with the folder; returns the number of files hashed. */
  async scan (signal?: AbortSignal): Promise<number> {
    this.rootReal = await realpath(this.root)
    const seen = new Set<string>()
    let hashed = 0
    for await (const file of this.walk(this.rootReal, signal)) {
      seen.add(file.rel)
      const fingerprint = `${file.stat.size}:${file.stat.mtimeMs}:${file.stat.ino}`
      if (this.known.get(file.rel) === fingerprint && this.catalog.has(file.rel)) continue
      try {
        const { id, manifest } = await hashFile(file.abs, { signal })
        this.catalog.add(file.rel, file.abs, id, manifest)
        this.known.set(file.rel, fingerprint)
        hashed++
      } catch (err: any) {
        if (signal?.aborted === true) throw err
        log('skipping %s: %s', file.rel, err?.message ?? err)
      }
    }
    for (const rel of [...this.catalog.paths()]) {
      if (!seen.has(rel)) {
        this.catalog.remove(rel)
        this.known.delete(rel)
      }
    }
    return hashed
  }

  /** Regular files below `dir`, depth first. */
  async * walk (dir: string, signal?: AbortSignal): AsyncGenerator<FoundFile> {
    let handle
    try {
      handle = await opendir(dir, { bufferSize: 64 })
    } catch (err: any) {
      log('cannot read %s: %s', dir, err?.message ?? err)
      return
    }
    for await (const entry of handle) {
      signal?.throwIfAborted()
      if (isInternalName(entry.name)) continue
      const abs = join(dir, entry.name)
      if (this.options.exclude?.some(e => abs === e || abs.startsWith(e + sep)) === true) continue
      let st: Stats
      try {
        st = await lstat(abs)
        if (st.isSymbolicLink()) {
          const target = await realpath(abs)
          if (target !== this.rootReal && !target.startsWith(this.rootReal + sep)) {
            log('not sharing %s: symlink leads out of the shared folder', abs)
            continue
          }
          st = await stat(abs)
          if (st.isDirectory()) continue // a link to a folder inside is shared under its real path already
        }
      } catch {
        continue
      }
      if (st.isDirectory()) {
        yield * this.walk(abs, signal)
      } else if (st.isFile()) {
        const rel = relative(this.rootReal, abs).split(sep).join('/')
        if (isSafeRelativePath(rel)) yield { abs, rel, stat: st }
      }
    }
  }
}
