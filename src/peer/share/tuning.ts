/**
 * Tuning of the shared folder: when a changed file is hashed, how often the folder is
 * rescanned.
 */

/** A file whose size or mtime changed within this time is still being written: not hashed yet. */
export const SHARE_SETTLE_MS = 1_000
/** Quiet time after the last file-system event before the changed paths are rescanned. */
export const SHARE_WATCH_DEBOUNCE_MS = 200
/** Full rescan of the shared folder (catches what fs.watch missed; the only way where it fails). */
export const SHARE_RESCAN_INTERVAL_MS = 60_000
/** Changed paths queued by the watcher beyond which one full rescan is cheaper. */
export const SHARE_MAX_QUEUED_PATHS = 1_000
