#!/usr/bin/env node
// The entry point. Startup matters for a CLI people run all day: `modelship --help` prints the help text
// saved at build time (dist/scripts/help.txt, written by `npm run build` from the program itself) without
// loading commander or anything else; every other invocation loads the program.
import { readFileSync } from 'node:fs'

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
if (!printed) await import('./program.js')
