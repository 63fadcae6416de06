// `npm run bundle`: after tsc has compiled the sources to dist/esm/, makes what the `modelship` bin runs.
//
// - dist/scripts/program.cjs: the whole program as one CommonJS file (one file to read instead of ~200
//   modules; dynamic imports become lazy initialisers, so a command still runs only the code it uses). pg,
//   pg-copy-streams and @huggingface/hub stay outside: they are loaded only by the commands that use them.
// - dist/scripts/charts.cjs: vega and vega-lite as one CommonJS file, required only when a model card's
//   pictures are drawn: one file loads in ~0.3 s where the ~30 packages it comes from take ~1 s. vega-canvas
//   is its browser build: the Node one awaits an optional `canvas` package at the top level (which no
//   CommonJS file can do, and which headless SVG rendering does not use).
// - dist/scripts/cli.js: the entry point (scripts/cli.ts and compile-cache.ts), as CommonJS too, with
//   dist/scripts/package.json saying so: Node starts a CommonJS entry ~8 ms sooner than an ES module one,
//   which initialises the ES module loader first (measured on `modelship --help`).
import { build, buildSync } from 'esbuild'
import { resolve } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'

// import.meta.url, which the sources use to find files beside them, as the bundle's own URL.
const importMetaUrl = {
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
}
// Octokit (loaded only in deploy.mode github) keeps a comment with a non-ASCII character inside an expression,
// where esbuild keeps comments: its files are read with every non-ASCII UTF-16 unit escaped (\uXXXX means the
// same in strings, templates and regular expressions; in a comment it is just text).
const asciiOctokit = {
  name: 'ascii-octokit',
  setup(build) {
    build.onLoad({ filter: /node_modules[\\/]@octokit[\\/].*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(
        /[^\x00-\x7f]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      ),
      loader: 'js',
    }))
  },
}
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // `import()` of a bundled module becomes a lazy initialiser instead of a separate file.
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
  ...importMetaUrl,
}

await build({
  ...common,
  plugins: [asciiOctokit],
  entryPoints: ['dist/esm/scripts/program.js'],
  outfile: 'dist/scripts/program.cjs',
  // vega and vega-lite: charts.cjs below holds them (run from the sources, they are imported as packages).
  external: ['pg', 'pg-copy-streams', '@huggingface/hub', 'vega', 'vega-lite'],
})
/** vega-canvas's browser build (its exports' `default`, not its `node` condition). */
const vegaCanvasBrowser = {
  name: 'vega-canvas-browser',
  setup(build) {
    build.onResolve({ filter: /^vega-canvas$/ }, () => ({
      path: resolve('node_modules/vega-canvas/build/vega-canvas.browser.js'),
    }))
  },
}

await build({
  stdin: { contents: "export * as vega from 'vega'\nexport * as vegaLite from 'vega-lite'\n", resolveDir: '.' },
  plugins: [vegaCanvasBrowser],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
  outfile: 'dist/scripts/charts.cjs',
})
buildSync({
  ...common,
  entryPoints: ['scripts/cli.ts'],
  outfile: 'dist/scripts/cli.js',
  // Only when run from the sources (tsx), where there is no bundle.
  external: ['./program.js'],
})
writeFileSync('dist/scripts/package.json', '{ "type": "commonjs" }\n')

// The bundle must be ASCII: V8 then holds its source as one byte a character, not two, which parses and
// deserializes faster (compile-cache.ts). esbuild escapes every non-ASCII character in code; only a
// comment esbuild keeps (a class field's doc comment) can bring one in.
const bundle = readFileSync('dist/scripts/program.cjs', 'latin1')
const at = bundle.search(/[^\x00-\x7f]/)
if (at >= 0) {
  const line = bundle.slice(0, at).split('\n').length
  const text = readFileSync('dist/scripts/program.cjs', 'utf8').split('\n')[line - 1]?.trim()
  console.error(`dist/scripts/program.cjs:${line}: a non-ASCII character; write it in ASCII in the source:\n  ${text}`)
  process.exit(1)
}
