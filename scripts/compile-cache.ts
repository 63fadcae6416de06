// Builtins through process.getBuiltinModule, not `import`: an ES module's builtin imports go through the
// ESM loader, ~9 ms more at every start (measured) than the same modules taken this way.
const { crc32 } = process.getBuiltinModule('node:zlib')
const { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } =
  process.getBuiltinModule('node:fs')
const { createRequire } = process.getBuiltinModule('node:module')
const { tmpdir } = process.getBuiltinModule('node:os')
const { dirname, join } = process.getBuiltinModule('node:path')
const { Script } = process.getBuiltinModule('node:vm')

/**
 * Runs the CommonJS bundle `file` (dist/scripts/program.cjs) the way `require` would, compiled with a V8
 * code cache: what Node 22's `module.enableCompileCache()` does, which Node 20 lacks. The first run of a
 * command compiles the bundle and, when it exits 0, saves V8's code for every function it ran; later runs
 * start from that code instead of parsing and compiling ~1 MB of JavaScript again.
 *
 * The cache lives where Node 22 keeps its own, under the temp directory: `modelship-compile-cache-<uid>/`,
 * made 0700; a directory that is a symlink, someone else's, or writable by others is not used. A cache file
 * is named by the bundle's length and CRC-32 (what Node 22's cache checks its sources with; a third of a
 * sha256's time) and the Node version and architecture, so a rebuilt or upgraded modelship never reads an
 * old one; V8 itself rejects a cache made with other flags (then it is made again). A run
 * writes the cache again only when it is the first of its kind (command, and whether a dry run) since the
 * cache was made, so the cache grows to cover the commands in use and is otherwise only read. Writing one
 * removes the caches of other builds not used for a day.
 * NODE_DISABLE_COMPILE_CACHE=1 (Node 22's switch) turns it off.
 */
export function runCachedBundle(file: string, args: readonly string[]): void {
  const bytes = readFileSync(file)
  // The bundle is ASCII (tools/bundle.mjs checks): read as Latin-1, V8 keeps it one byte a character.
  const source = bytes.toString('latin1')
  const store = process.env.NODE_DISABLE_COMPILE_CACHE ? undefined : openCacheStore(bytes)
  const cachedData = store?.read()
  // Module.wrap's header, on the bundle's first line: stack traces keep the file's line numbers.
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n})`
  const script = new Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) })
  if (store) {
    const used = cachedData !== undefined && !script.cachedDataRejected
    const kind = runKind(args)
    process.once('exit', (code) => {
      if (code === 0 && !(used && store.covers(kind))) store.write(script.createCachedData(), kind, used)
    })
  }
  const run = script.runInThisContext() as (...args: unknown[]) => void
  const module = { exports: {} }
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file))
}

interface CacheStore {
  read(): Buffer | undefined
  /** Whether a run of this kind already contributed to the cache. */
  covers(kind: string): boolean
  /** Saves the code (atomically) and notes `kind`; with `keep`, the kinds noted before stay noted. */
  write(data: Buffer, kind: string, keep: boolean): void
}

const STALE_MS = 24 * 60 * 60 * 1000

/** Removes the cache files of other builds (other keys) not read or written for STALE_MS. */
function pruneOthers(dir: string, key: string): void {
  const now = Date.now()
  try {
    for (const name of readdirSync(dir)) {
      if (name.startsWith(key)) continue
      const path = join(dir, name)
      const st = statSync(path, { throwIfNoEntry: false })
      if (st?.isFile() && now - Math.max(st.mtimeMs, st.atimeMs) > STALE_MS) rmSync(path, { force: true })
    }
  } catch {
    // Pruning is housekeeping: a file that went away or cannot be removed is left to the next run.
  }
}

/** What a run exercises: its command, and whether it is a dry run (which skips most of a release). */
function runKind(args: readonly string[]): string {
  const command = args.find((a) => !a.startsWith('-')) ?? '(no command)'
  return args.includes('--dry-run') ? `${command} --dry-run` : command
}

function openCacheStore(source: Buffer): CacheStore | undefined {
  try {
    const uid = process.getuid?.()
    const dir = join(tmpdir(), `modelship-compile-cache-${uid ?? 'user'}`)
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const st = lstatSync(dir)
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined
    const key =
      `${source.length.toString(16)}-${crc32(source).toString(16).padStart(8, '0')}-` +
      `${process.version}-${process.arch}`
    const dataPath = join(dir, `${key}.bin`)
    const kindsPath = join(dir, `${key}.kinds.json`)
    let kinds: string[] | undefined
    const readKinds = (): string[] => {
      if (kinds) return kinds
      try {
        const parsed: unknown = JSON.parse(readFileSync(kindsPath, 'utf8'))
        kinds = Array.isArray(parsed) ? parsed.filter((k): k is string => typeof k === 'string') : []
      } catch {
        kinds = []
      }
      return kinds
    }
    const replace = (path: string, data: string | Buffer): void => {
      const tmp = `${path}.${process.pid}.${process.getBuiltinModule('node:crypto').randomBytes(4).toString('hex')}.tmp`
      try {
        writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' })
        renameSync(tmp, path)
      } catch {
        rmSync(tmp, { force: true })
      }
    }
    return {
      read() {
        try {
          return readFileSync(dataPath)
        } catch {
          return undefined
        }
      },
      covers: (kind) => readKinds().includes(kind),
      write(data, kind, keep) {
        replace(dataPath, data)
        replace(kindsPath, `${JSON.stringify([...(keep ? readKinds() : []), kind])}\n`)
        pruneOthers(dir, key)
      },
    }
  } catch {
    // A cache is an optimization: any problem with it means running without one.
    return undefined
  }
}
