#!/usr/bin/env node
// Builds the web UI into dist/public: web/src/{peer,master}.js bundled by esbuild with preact,
// htm and uPlot (no request leaves the node: everything the page loads is served by it),
// plus the HTML pages, the style sheet and uPlot's.
import { build } from 'esbuild'
import { mkdirSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const out = join(root, 'dist/public')
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [join(root, 'web/src/peer.js'), join(root, 'web/src/master.js')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  outdir: out,
  logLevel: 'warning'
})
for (const file of ['peer.html', 'master.html', 'style.css']) copyFileSync(join(root, 'web', file), join(out, file))
copyFileSync(join(root, 'node_modules/uplot/dist/uPlot.min.css'), join(out, 'uPlot.min.css'))
