import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, DEFAULT_CONFIG_DIR, type MasterConfig } from '../../src/config.js'

describe('config files', () => {
  it('--config overrides keys; a nested object is merged key by key, arrays are replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fileshare-config-'))
    try {
      const file = join(dir, 'master.json')
      writeFileSync(file, JSON.stringify({ relay: { dataLimit: 0 }, listen: ['/ip4/127.0.0.1/tcp/0'] }))
      const defaults = JSON.parse(readFileSync(join(DEFAULT_CONFIG_DIR, 'master.json'), 'utf8'))
      const config = loadConfig<MasterConfig>('master', file)
      assert.deepEqual(config.relay, { ...defaults.relay, dataLimit: 0 })
      assert.deepEqual(config.listen, ['/ip4/127.0.0.1/tcp/0'])
      assert.equal(config.providerGraceMs, defaults.providerGraceMs)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
