#!/usr/bin/env node
// The entry point. Startup matters for a CLI people run all day:
// - `modelship --help` prints the help text saved at build time (dist/scripts/help.txt, written by
//   `npm run build` from the program itself) without loading anything else;
// - every other invocation runs the program from the one-file bundle `npm run build` makes beside this
//   file (program.cjs: one file to read instead of ~200 modules) when it is there, else the compiled modules;
// - the bundle is compiled with a V8 code cache (compile-cache.ts), as Node 22's module.enableCompileCache
//   does: a run that finds one skips parsing and compiling ~1 MB of JavaScript (measured: a release's fixed
//   overhead 0.41 s → 0.32 s, a dry run 0.26 s → 0.17 s on a 2-core machine).
//   Builtins come from process.getBuiltinModule rather than `import` (see compile-cache.ts).
const { existsSync, readFileSync } = process.getBuiltinModule('node:fs')
const { fileURLToPath } = process.getBuiltinModule('node:url')

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
  const bundle = fileURLToPath(new URL('./program.cjs', import.meta.url))
  // Imported here, not above: `--help` loads nothing it does not use.
  if (import.meta.url.endsWith('.js') && existsSync(bundle))
    (await import('./compile-cache.js')).runCachedBundle(bundle, args)
  else await import('./program.js')
}
