#!/usr/bin/env node
// The SwarmMaster entry point. It parses argv before anything heavy loads: --help and
// --version never import libp2p; the command imports it (after node/polyfill.js) when it runs.
import './cli/compile-cache.js'

const { runMaster } = await import('./cli/master-command.js')
process.exit(await runMaster(process.argv.slice(2)))
