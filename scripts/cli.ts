#!/usr/bin/env node
// The entry point. Startup matters for a CLI people run all day: `modelship --help` prints the help text
// saved at build time (dist/scripts/help.txt, written by `npm run build` from the program itself) without
// loading commander or anything else; every other invocation loads the program — the single-file bundle
// `npm run build` makes beside this file (program.bundle.js: one file to read instead of ~200 modules,
// ~0.1 s less per run) when it is there, else the compiled modules.
import { existsSync, readFileSync } from 'node:fs'

const args = process.argv.slice(2)
let printed = false
if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
  try {
    process.stdout.write(readFileSync(new URL('./help.txt', import.meta.url), 'utf8'))
    printed = true
  } catch {
    // not built with `npm run build` (or run from the sources): commander prints it
  }
}
if (!printed) {
  const bundle = new URL('./program.bundle.js', import.meta.url)
  await import(import.meta.url.endsWith('.js') && existsSync(bundle) ? bundle.href : './program.js')
}
