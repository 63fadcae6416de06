import { fileURLToPath } from 'node:url'
import { $ as zx, type ProcessPromise } from 'zx'
import { ModelshipError } from '../engine/errors.js'
import type { Command, RunOptions, Shell } from './types.js'
import type { Redactor } from '../secrets/redact.js'
import { formatCommand } from './format-command.js'

/** How many trailing lines of a failed command's stderr go into its error message. */
const ERROR_TAIL_LINES = 6

export interface ShellOptions {
  cwd: string
  /** The environment every child starts from; secrets are added per command through RunOptions.env. */
  env: Readonly<Record<string, string | undefined>>
  redact: Redactor
}

/** The real shell port: a bound zx instance; each argv element is quoted by zx, never concatenated. */
export { formatCommand }

/** How long a process group gets between SIGTERM and SIGKILL when a run stops. */
const KILL_GRACE_MS = 5000
// Beside this module when compiled; run from the TypeScript source (in-process tests), the compiled copy in dist/.
const GUARD = fileURLToPath(
  import.meta.url.endsWith('.ts') ? new URL('../../dist/pipeline/ports/child-guard.js', import.meta.url) : new URL('./child-guard.js', import.meta.url),
)

export function createShell(o: ShellOptions): Shell {
  const running = new Set<ProcessPromise>()

  // Every child leads its own process group (Ctrl-C in the terminal reaches modelship only, which then
  // stops each group in order). Commands that change things run under the child guard, which also
  // kills its group when modelship dies without a chance to clean up (SIGKILL).
  const run = async (cmd: Command, opts: RunOptions = {}, guarded = false): Promise<string> => {
    const env = { ...o.env, ...opts.env }
    const $ = zx({ cwd: opts.cwd ?? o.cwd, env: env as NodeJS.ProcessEnv, quiet: true, nothrow: true, verbose: false, detached: true })
    const argv: readonly string[] = guarded ? [process.execPath, GUARD, String(process.pid), ...cmd] : cmd
    let child: ProcessPromise
    try {
      child = $`${argv}`
    } catch (e) {
      throw new ModelshipError('STEP_FAILED', `cannot start ${cmd[0]}: ${o.redact((e as Error).message)}`)
    }
    running.add(child)
    const onLine = opts.onLine
    if (onLine) {
      pipeLines(child.stdout, (l) => onLine(o.redact(l), 'stdout'))
      pipeLines(child.stderr, (l) => onLine(o.redact(l), 'stderr'))
    }
    try {
      const result = await child
      if (result.exitCode === 0) return o.redact(result.stdout).trimEnd()
      if (guarded && result.exitCode === 127 && result.stderr.startsWith('modelship-child-guard:')) {
        throw new ModelshipError('STEP_FAILED', `${cmd[0]}: command not found`)
      }
      if (result.signal) {
        throw new ModelshipError('STEP_FAILED', `${formatCommand(cmd)} was stopped by ${result.signal}`)
      }
      const tail = lastLines(o.redact(result.stderr || result.stdout), ERROR_TAIL_LINES)
      throw new ModelshipError('STEP_FAILED', `${o.redact(formatCommand(cmd))} exited with ${result.exitCode}${tail ? `: ${tail}` : ''}`, {
        details: o.redact(result.stderr).trimEnd() || undefined,
      })
    } catch (e) {
      if (e instanceof ModelshipError) throw e
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT') throw new ModelshipError('STEP_FAILED', `${cmd[0]}: command not found`)
      throw new ModelshipError('STEP_FAILED', `${o.redact(formatCommand(cmd))} failed: ${o.redact((e as Error).message)}`)
    } finally {
      running.delete(child)
    }
  }

  const signalGroup = (p: ProcessPromise, signal: NodeJS.Signals): void => {
    const pid = p.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // the group is gone already
    }
  }

  return {
    read: (cmd, opts) => run(cmd, opts),
    write: (cmd, opts) => run(cmd, opts, true),
    async killAll(o2 = {}) {
      await Promise.all(
        [...running].map(async (p) => {
          signalGroup(p, o2.now ? 'SIGKILL' : 'SIGTERM')
          const timer = setTimeout(() => signalGroup(p, 'SIGKILL'), KILL_GRACE_MS)
          await p.catch(() => {})
          clearTimeout(timer)
        }),
      )
    },
  }
}

function pipeLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = ''
  stream.on('data', (chunk: Buffer | string) => {
    buffered += chunk.toString()
    const lines = buffered.split(/\r?\n|\r/)
    buffered = lines.pop() ?? ''
    for (const line of lines) if (line.trim() !== '') onLine(line)
  })
  stream.on('end', () => {
    if (buffered.trim() !== '') onLine(buffered)
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
