/**
 * Times the programs modelship runs (the trainer's `python3`, `docker`) from the outside: a directory of
 * bash wrappers, put first on PATH, that run the real program (the one PATH found before) and append
 * `name start end argv` to a log. The fixed overhead of a release is its wall time less these intervals.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

export interface TimedCall {
  name: string
  ms: number
  argv: string
}

export interface TimedPath {
  /** PATH with the wrappers first, and the variables they read. Merge into the child's environment. */
  env: Record<string, string>
  /** The calls logged since the last `reset()`. */
  calls(): TimedCall[]
  reset(): void
  cleanup(): void
}

/** `$EPOCHREALTIME` (bash 5): no fork to read the clock; the wrapper's own start-up is before `s`. */
const WRAPPER = `#!/bin/bash
name=\${0##*/}
real_var=BENCH_REAL_\${name//[^A-Za-z0-9]/_}
s=$EPOCHREALTIME
"\${!real_var}" "$@"
rc=$?
e=$EPOCHREALTIME
printf '%s %s %s %s\\n' "$name" "$s" "$e" "$*" >> "$BENCH_TIMING_LOG"
exit $rc
`

function which(name: string, path: string): string {
  for (const dir of path.split(delimiter)) {
    const candidate = join(dir, name)
    if (dir && existsSync(candidate)) return candidate
  }
  throw new Error(`bench: ${name} is not on PATH`)
}

/** Wraps `names` as PATH (default: this process's PATH) resolves them now. */
export function createTimedPath(names: readonly string[], path = process.env.PATH ?? ''): TimedPath {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-bench-path-'))
  const log = join(dir, 'timing.log')
  const env: Record<string, string> = { BENCH_TIMING_LOG: log, PATH: [dir, path].join(delimiter) }
  for (const name of names) {
    env[`BENCH_REAL_${name.replace(/[^A-Za-z0-9]/g, '_')}`] = which(name, path)
    writeFileSync(join(dir, name), WRAPPER)
    chmodSync(join(dir, name), 0o755)
  }
  return {
    env,
    calls() {
      if (!existsSync(log)) return []
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [name = '', s = '0', e = '0', ...argv] = line.split(' ')
          return { name, ms: (Number(e) - Number(s)) * 1000, argv: argv.join(' ') }
        })
    },
    reset: () => rmSync(log, { force: true }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  }
}
