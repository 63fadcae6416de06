import { readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import type { Config } from '../pipeline/config/config.js'
import { loadConfig } from '../pipeline/config/load.js'
import { checkOwnDirs } from '../pipeline/doctor/workspace-checks.js'
import { createDeps, type Deps } from '../pipeline/ports/deps.js'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { learnSecrets, session, sessionRedactor, writeJson } from './session.js'

export interface CommandContext {
  workspace: string
  env: Record<string, string | undefined>
  config: Config
  deps: Deps
  /** Human output; goes to stderr when stdout carries --json. */
  print: (line: string) => void
  /** Machine output (--json): stdout. */
  printJson: (value: unknown) => void
}

/** The only place that reads process.env and the working directory: `--workspace` > MODELSHIP_WORKSPACE > cwd. */
export function resolveWorkspace(flag: string | undefined, processEnv: NodeJS.ProcessEnv, cwd: string): string {
  const dir = resolve(cwd, flag ?? processEnv.MODELSHIP_WORKSPACE ?? '.')
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch {
    isDir = false
  }
  if (!isDir)
    throw new ModelshipError(
      'USAGE',
      `workspace ${dir}: no such ` +
        `directory${flag ? ' (--workspace)' : processEnv.MODELSHIP_WORKSPACE ? ' (MODELSHIP_WORKSPACE)' : ''}`,
    )
  return dir
}

/** The real environment over `<workspace>/.env` (dotenv never overrides a variable that is set). */
export function loadEnv(workspace: string, processEnv: NodeJS.ProcessEnv): Record<string, string | undefined> {
  let fromFile: Record<string, string> = {}
  try {
    fromFile = parseDotenv(readFileSync(join(workspace, '.env')))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new ModelshipError('CONFIG', `${join(workspace, '.env')}: cannot read (${(e as Error).message})`)
  }
  return { ...fromFile, ...processEnv }
}

export async function openWorkspace(o: {
  workspaceFlag: string | undefined
  json: boolean
  dryRun?: boolean
  flags?: Record<string, unknown>
  /** The command writes below `.modelship/` (a run, a lock, a local registry): refused when that leads out. */
  writes?: boolean
}): Promise<CommandContext> {
  const workspace = resolveWorkspace(o.workspaceFlag, process.env, process.cwd())
  const env = loadEnv(workspace, process.env)
  learnSecrets(env)
  const redact = sessionRedactor
  const human = o.json ? process.stderr : process.stdout
  const print = (line: string): void => void human.write(`${redact(line)}\n`)
  const config = await loadConfig({
    workspace,
    env,
    ...(o.flags ? { flags: o.flags } : {}),
    warn: (m) => print(`warning: ${m}`),
  })
  if (o.writes) {
    const [outside] = checkOwnDirs(config, join(workspace, '.modelship'))
    if (outside) throw new ModelshipError('BAD_INPUT', outside.message, outside.fix ? { hint: outside.fix } : {})
  }
  const deps = createDeps({ config, env, dryRun: o.dryRun ?? false, write: print, overrides: { redact } })
  session.stopChildren = (stop) => deps.sh.killAll(stop)
  return {
    workspace,
    env,
    config,
    deps,
    print,
    printJson: writeJson,
  }
}
