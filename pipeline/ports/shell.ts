import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import type { ProcessPromise } from 'zx/core'
import { ModelshipError } from '../engine/errors.js'
import type { Command, RunOptions, Shell } from './types.js'
import type { Redactor } from '../secrets/redact.js'
import { GUARD_BODY, GUARD_NOT_FOUND_PREFIX, guardArgs } from './child-guard.js'
import { formatCommand } from './format-command.js'

/** How many trailing lines of a failed command's stderr go into its error message. */
const ERROR_TAIL_LINES = 6
/** How long a process group gets between SIGTERM and SIGKILL when a run stops. */
const KILL_GRACE_MS = 5000

export interface ShellOptions {
  cwd: string
  /** The environment every child starts from; secrets are added per command through RunOptions.env. */
  env: Readonly<Record<string, string | undefined>>
  redact: Redactor
  /**
   * Writes will follow (not a dry run): zx is loaded while the first probe runs, when this process
   * would only wait, instead of on the first write.
   */
  preloadWriter?: boolean
}

export { formatCommand }

/** One started child, whichever way it was started. */
interface Started {
  /** The child's pid, which is also its process group id. */
  pid: number | undefined
  stdout: Readable
  stderr: Readable
  done: Promise<Outcome>
}

interface Outcome {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

interface Spawn {
  argv: readonly string[]
  cwd: string
  env: Record<string, string | undefined>
}

/** `set -- ${args}` + the guard: a template whose only interpolation is the argument list (quoted by zx). */
const GUARD_TEMPLATE: TemplateStringsArray = Object.assign(['set -- ', GUARD_BODY], { raw: ['set -- ', GUARD_BODY] })

/**
 * Probes (`read`) are spawned directly, without a shell: they sit on the startup path of every command
 * (`release --dry-run` runs only probes), and zx costs ~60–90 ms to import plus a bash per command.
 */
function startDirect(s: Spawn): Started {
  const child = spawn(s.argv[0]!, s.argv.slice(1), {
    cwd: s.cwd,
    env: s.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const done = new Promise<Outcome>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr }))
  })
  return { pid: child.pid, stdout: child.stdout, stderr: child.stderr, done }
}

let zxModule: Promise<typeof import('zx/core')> | undefined
/** zx/core: `$` without the globbing, fetch and YAML extras of the full package (~40% less to load). */
const loadZx = () => (zxModule ??= import('zx/core'))

/**
 * Changes (`write`: the trainer, docker build/up) run through zx, imported on the first one only: a dry
 * run never pays for it. The bash zx starts runs the child guard (child-guard.ts) with `s.argv`, each
 * element quoted by zx, never concatenated; zx's `set -euo pipefail` prefix is left out (the guard checks
 * its own exit codes).
 */
async function startGuarded(s: Spawn, parentPid: number): Promise<Started> {
  const { $: zx } = await loadZx()
  const $ = zx({
    cwd: s.cwd,
    env: s.env as NodeJS.ProcessEnv,
    quiet: true,
    nothrow: true,
    verbose: false,
    detached: true,
    prefix: '',
    postfix: '',
    // No stdin: node's stdio pipes are socketpairs, and bash whose stdin is a socket takes itself for an
    // ssh session and runs the user's ~/.bashrc (pyenv init and the like: ~0.5 s) before every write.
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const child: ProcessPromise = $(GUARD_TEMPLATE, guardArgs(parentPid, s.argv))
  const done = child.then((r) => ({ exitCode: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr }))
  return {
    // Read when needed: zx may start the process a moment after returning it.
    get pid() {
      return child.pid
    },
    stdout: child.stdout,
    stderr: child.stderr,
    done,
  }
}

/** The real shell port. Output and error messages are redacted before they leave it. */
export function createShell(o: ShellOptions): Shell {
  const running = new Set<Started>()
  // Children still being started (zx is imported first): Ctrl-C meanwhile must stop them too.
  const starting = new Set<Promise<Started>>()

  // Every child leads its own process group (Ctrl-C in the terminal reaches modelship only, which then
  // stops each group in order). Commands that change things run under the child guard, which also
  // kills its group when modelship dies without a chance to clean up (SIGKILL).
  const run = async (cmd: Command, opts: RunOptions = {}, guarded = false): Promise<string> => {
    const env = { ...o.env, ...opts.env }
    const spawned = { argv: cmd, cwd: opts.cwd ?? o.cwd, env }
    let child: Started
    const start = (async () => (guarded ? startGuarded(spawned, process.pid) : startDirect(spawned)))()
    starting.add(start)
    try {
      child = await start
    } catch (e) {
      throw new ModelshipError('STEP_FAILED', `cannot start ${cmd[0]}: ${o.redact((e as Error).message)}`)
    } finally {
      starting.delete(start)
    }
    running.add(child)
    if (o.preloadWriter && !zxModule) void loadZx().catch(() => {}) // a failed load is reported by the write
    const onLine = opts.onLine
    if (onLine) {
      pipeLines(child.stdout, (l) => onLine(o.redact(l), 'stdout'))
      pipeLines(child.stderr, (l) => onLine(o.redact(l), 'stderr'))
    }
    const onAbort = () => {
      signalGroup(child, 'SIGTERM')
      setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS).unref()
    }
    if (opts.signal?.aborted) onAbort()
    else opts.signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const result = await child.done
      if (result.exitCode === 0) return o.redact(result.stdout).trimEnd()
      if (guarded && result.exitCode === 127 && result.stderr.startsWith(GUARD_NOT_FOUND_PREFIX)) {
        throw new ModelshipError('STEP_FAILED', `${cmd[0]}: command not found`)
      }
      if (result.signal) {
        throw new ModelshipError('STEP_FAILED', `${formatCommand(cmd)} was stopped by ${result.signal}`)
      }
      const tail = lastLines(o.redact(result.stderr || result.stdout), ERROR_TAIL_LINES)
      const what = `${o.redact(formatCommand(cmd))} exited with ${result.exitCode}`
      throw new ModelshipError('STEP_FAILED', `${what}${tail ? `: ${tail}` : ''}`, {
        details: o.redact(result.stderr).trimEnd() || undefined,
      })
    } catch (e) {
      if (e instanceof ModelshipError) throw e
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new ModelshipError('STEP_FAILED', `${cmd[0]}: command not found`)
      const message = o.redact((e as Error).message)
      throw new ModelshipError('STEP_FAILED', `${o.redact(formatCommand(cmd))} failed: ${message}`)
    } finally {
      opts.signal?.removeEventListener('abort', onAbort)
      running.delete(child)
    }
  }

  const signalGroup = (p: Started, signal: NodeJS.Signals): void => {
    if (p.pid === undefined) return
    try {
      process.kill(-p.pid, signal)
    } catch {
      // the group is gone already
    }
  }

  return {
    read: (cmd, opts) => run(cmd, opts),
    write: (cmd, opts) => run(cmd, opts, true),
    async killAll(o2 = {}) {
      const late = await Promise.all([...starting].map((p) => p.catch(() => undefined)))
      const children = new Set([...running, ...late.filter((c): c is Started => c !== undefined)])
      await Promise.all(
        [...children].map(async (p) => {
          signalGroup(p, o2.now ? 'SIGKILL' : 'SIGTERM')
          const timer = setTimeout(() => signalGroup(p, 'SIGKILL'), KILL_GRACE_MS)
          await p.done.catch(() => {})
          clearTimeout(timer)
        }),
      )
    },
  }
}

function pipeLines(stream: Readable, onLine: (line: string) => void): void {
  let buffered = ''
  stream.on('data', (chunk: Buffer | string) => {
    buffered += chunk.toString()
    const lines = buffered.split(/\r?\n|\r/)
    buffered = lines.pop() ?? ''
    // Blank lines too: a trainer's classification report is laid out with them, and train.log keeps it whole.
    for (const line of lines) onLine(line)
  })
  stream.on('end', () => {
    if (buffered !== '') onLine(buffered)
    buffered = ''
  })
}

function lastLines(text: string, n: number): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ')
}
