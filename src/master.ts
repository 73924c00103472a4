#!/usr/bin/env node
// The SwarmMaster entry point: the polyfill must load before anything from libp2p.
import './node/polyfill.js'
import { runMaster } from './cli/master-command.js'

process.exit(await runMaster(process.argv.slice(2)))
