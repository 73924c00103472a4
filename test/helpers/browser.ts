/**
 * Headless Chromium for the browser tests: Debian's chromium (apt-get install -y chromium)
 * driven by playwright-core. Outside CI the tests skip with a printed reason when it is
 * missing; under CI=true a missing browser is a failure.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'

export const CHROMIUM = process.env.FILESHARE_CHROMIUM ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here (null: they can); throws under CI=true instead. */
export function browserSkipReason (): string | null {
  const reason = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`
  if (reason != null && process.env.CI === 'true') throw new Error(`browser tests must run under CI=true: ${reason}`)
  if (reason != null) process.stdout.write(`# skipping browser tests: ${reason}\n`)
  return reason
}

/** A fresh headless Chromium with its own empty profile; close() removes the profile. */
export async function launchBrowser (): Promise<{ context: BrowserContext, close: () => Promise<void> }> {
  const { chromium } = await import('playwright-core')
  const profile = await mkdtemp(join(tmpdir(), 'fileshare-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
  return {
    context,
    close: async () => {
      await context.close().catch(() => {})
      await rm(profile, { recursive: true, force: true })
    }
  }
}
