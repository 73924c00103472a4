#!/usr/bin/env node
// The peer entry point. It parses argv before anything heavy loads: --help and --version
// never import libp2p; the commands import it (after node/polyfill.js) when they run.
import './cli/compile-cache.js'

const { runPeer } = await import('./cli/peer-command.js')
process.exit(await runPeer(process.argv.slice(2)))
