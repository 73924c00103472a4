/**
 * What a download tells its caller: per-provider byte counts (ProviderStats) and the
 * events (progress, provider-dropped, checking, resumed). A progress event goes out when
 * the verified byte count changed since the last one (and always at the end); the
 * download emits at least every PROGRESS_INTERVAL_MS.
 */
import type { PathKind } from '../../node/addresses.js'

export interface ProviderStats {
  peer: string
  bytes: number
  /** 'direct' or 'relayed': the connection chunks are requested on now; in `done`, the one the last chunk came over */
  path: PathKind
  /** of `bytes`, how many came through a relay (the rest came direct) */
  relayedBytes?: number
  /** a partial provider (another downloader) when it joined */
  partial?: boolean
}

export type DownloadEvent =
  /**
   * `received`: verified bytes plus bytes received for chunks not verified yet (smooth progress; never above total);
   * `partialBytes`: of `bytes`, those from partial providers; `uploadedBytes`: served to other downloaders (peer.get)
   */
  | { event: 'progress', id: string, bytes: number, total: number, providers: ProviderStats[], received?: number, partialBytes: number, uploadedBytes?: number }
  | { event: 'provider-dropped', id: string, peer: string, reason: string }
  | { event: 'checking', id: string, chunks: number }
  | { event: 'resumed', id: string, bytes: number, chunks: number }

export class Progress {
  private readonly stats = new Map<string, ProviderStats>()
  private lastEmitted = -1
  private lastReceived = -1

  constructor (private readonly id: string, private readonly onEvent?: (event: DownloadEvent) => void) {}

  /** The stats of `peer` (kept across its reconnections), now on `path`. */
  provider (peer: string, path: PathKind, partial = false): ProviderStats {
    const stats = this.stats.get(peer) ?? { peer, bytes: 0, path, relayedBytes: 0, partial }
    stats.path = path
    this.stats.set(peer, stats)
    return stats
  }

  /** A chunk of `length` bytes from this provider verified; it came over `path`. */
  chunk (stats: ProviderStats, length: number, path: PathKind): void {
    if (path === 'relayed') stats.relayedBytes = (stats.relayedBytes ?? 0) + length
    stats.path = path
    stats.bytes += length
  }

  /** Every provider's stats so far. */
  providers (): ProviderStats[] {
    return [...this.stats.values()]
  }

  /** Verified bytes that came from partial providers. */
  partialBytes (): number {
    let n = 0
    for (const s of this.stats.values()) if (s.partial === true) n += s.bytes
    return n
  }

  /** A progress event, unless nothing changed since the last one (the final one always goes out). */
  emit (bytes: number, total: number, complete: boolean, received = bytes): void {
    if (bytes === this.lastEmitted && received === this.lastReceived && this.lastEmitted !== -1 && !complete) return
    this.lastEmitted = bytes
    this.lastReceived = received
    this.onEvent?.({ event: 'progress', id: this.id, bytes, total, providers: this.providers().map(s => ({ ...s })), received: Math.max(bytes, received), partialBytes: this.partialBytes() })
  }

  dropped (peer: string, reason: string): void {
    this.onEvent?.({ event: 'provider-dropped', id: this.id, peer, reason })
  }

  checking (chunks: number): void {
    this.onEvent?.({ event: 'checking', id: this.id, chunks })
  }

  resumed (bytes: number, chunks: number): void {
    this.onEvent?.({ event: 'resumed', id: this.id, bytes, chunks })
  }
}
