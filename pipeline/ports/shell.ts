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

export function createShell(o: ShellOptions): Shell {
  const running = new Set<ProcessPromise>()

  const run = async (cmd: Command, opts: RunOptions = {}): Promise<string> => {
    const env = { ...o.env, ...opts.env }
    const $ = zx({ cwd: opts.cwd ?? o.cwd, env: env as NodeJS.ProcessEnv, quiet: true, nothrow: true, verbose: false })
    let child: ProcessPromise
    try {
      child = $`${cmd}`
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

  return {
    read: run,
    write: run,
    async killAll() {
      await Promise.all(
        [...running].map(async (p) => {
          const timer = setTimeout(() => void p.kill('SIGKILL').catch(() => {}), 3000)
          try {
            await p.kill('SIGTERM')
            await p.catch(() => {})
          } catch {
            // already gone
          } finally {
            clearTimeout(timer)
          }
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
