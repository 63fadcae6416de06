#!/usr/bin/env node
// The entry point. Startup matters for a CLI people run all day:
// - `npm run build` makes this file CommonJS (dist/scripts/cli.js, see tools/bundle.mjs): Node starts a
//   CommonJS entry without first setting up its ES module loader (~8 ms on every command);
// - `modelship --help` prints the help text saved at build time (dist/scripts/help.txt, written by
//   `npm run build` from the program itself) without loading anything else;
// - every other invocation runs the program from the one-file bundle `npm run build` makes beside this
//   file (program.cjs: one file to read instead of ~200 modules) when it is there, else the modules
//   themselves (run from the sources);
// - the bundle is compiled with a V8 code cache (compile-cache.ts), as Node 22's module.enableCompileCache
//   does: a run that finds one skips parsing and compiling ~1 MB of JavaScript (measured: a release's fixed
//   overhead 0.41 s → 0.32 s, a dry run 0.26 s → 0.17 s on a 2-core machine).
//   Builtins come from process.getBuiltinModule rather than `import` (see compile-cache.ts).
// No top-level await: a CommonJS file cannot have one.
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
  const started =
    import.meta.url.endsWith('.js') && existsSync(bundle)
      ? import('./compile-cache.js').then((m) => m.runCachedBundle(bundle, args))
      : import('./program.js')
  started.catch((e: unknown) => {
    // The program catches its own errors; this is a bundle that could not be read or started at all.
    process.stderr.write(`modelship: cannot start: ${(e as Error).message}\n`)
    // --json: one JSON object on every exit, this one too (the program's own answer never ran).
    const end = args.indexOf('--')
    if ((end < 0 ? args : args.slice(0, end)).includes('--json'))
      process.stdout.write(
        `${JSON.stringify({
          ok: false,
          status: 'failed',
          exitCode: 1,
          error: {
            code: 'STEP_FAILED',
            message: `cannot start: ${(e as Error).message}`,
            hint: 'reinstall modelship (npm ci, npm run build)',
          },
        })}\n`,
      )
    process.exitCode = 1
  })
}
