import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, mkdtempSync, rmSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, masterAddress, DEFAULT_CONFIG_DIR } from '../../src/cli/config.js'
import { MASTER_DEFAULTS, PEER_DEFAULTS } from '../../src/defaults.js'

describe('config files', () => {
  it('the shipped config/*.json agree with the built-in defaults', () => {
    assert.ok(DEFAULT_CONFIG_DIR != null, 'config/ found')
    assert.deepEqual(JSON.parse(readFileSync(join(DEFAULT_CONFIG_DIR, 'master.json'), 'utf8')), MASTER_DEFAULTS)
    assert.deepEqual(JSON.parse(readFileSync(join(DEFAULT_CONFIG_DIR, 'peer.json'), 'utf8')), PEER_DEFAULTS)
  })

  it('--config overrides keys; a nested object is merged key by key, arrays are replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fileshare-config-'))
    try {
      const file = join(dir, 'master.json')
      writeFileSync(file, JSON.stringify({ relay: { dataLimit: 0 }, listen: ['/ip4/127.0.0.1/tcp/0'] }))
      const config = loadConfig('master', file)
      assert.deepEqual(config.relay, { ...MASTER_DEFAULTS.relay, dataLimit: 0 })
      assert.deepEqual(config.listen, ['/ip4/127.0.0.1/tcp/0'])
      assert.equal(config.providerGraceMs, MASTER_DEFAULTS.providerGraceMs)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a peer\'s master: the flag, else FILESHARE_MASTER, else the config', () => {
    const config = { ...PEER_DEFAULTS, master: '/from/config' }
    assert.equal(masterAddress('/from/flag', { FILESHARE_MASTER: '/from/env' }, config), '/from/flag')
    assert.equal(masterAddress(undefined, { FILESHARE_MASTER: '/from/env' }, config), '/from/env')
    assert.equal(masterAddress(undefined, {}, config), '/from/config')
    assert.equal(masterAddress(undefined, {}, PEER_DEFAULTS), null)
  })
})
