#!/usr/bin/env node
// The peer entry point: the polyfill must load before anything from libp2p.
import './node/polyfill.js'
import { runPeer } from './cli/peer-command.js'

process.exit(await runPeer(process.argv.slice(2)))
