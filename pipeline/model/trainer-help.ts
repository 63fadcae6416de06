import { createHash } from 'node:crypto'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join } from 'node:path'
import type { Config } from '../config/config.js'
import { messageOf } from '../engine/errors.js'
import { writeFileAtomic } from '../fs-atomic.js'
import { formatCommand } from '../ports/format-command.js'
import type { Shell } from '../ports/types.js'
import { trainerFlagsPassed, trainerProbeCommand, type TrainerFlags } from './trainer.js'

/** `--help` of a trainer started through a pyenv shim or a conda env can take seconds; never wait longer. */
export const HELP_TIMEOUT_MS = 30_000

export interface TrainerCheck {
  /** Bad input: a flag modelship would pass that the trainer lacks, or a trainer that cannot start. */
  problems: string[]
  /** The help could not be read: nothing was checked. */
  warnings: string[]
  /** What the help says about optional flags (undefined when it could not be read). */
  flags?: TrainerFlags
  /** A freshly read help text, for {@link saveTrainerHelp} once the run does real work. */
  fresh?: { path: string; help: string }
}

/**
 * Caches a help text read by {@link checkTrainer}. Called by the train step, not by preflight: a run
 * refused for bad input, or a dry run, must leave nothing behind in the workspace.
 */
export async function saveTrainerHelp(fresh: { path: string; help: string } | undefined): Promise<void> {
  if (!fresh) return
  await mkdir(dirname(fresh.path), { recursive: true })
  await writeFileAtomic(fresh.path, fresh.help)
}

/** True when `help` lists `flag` as a word of its own (`--data` is not `--data-dir`). */
export function helpListsFlag(help: string, flag: string): boolean {
  const escaped = flag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|[^\\w-])${escaped}(?![\\w-])`, 'm').test(help)
}

/** Pure: the problems of one help text against the flags a training run passes. */
export function checkHelpText(config: Config, help: string): TrainerCheck {
  const trainer = formatCommand(config.trainer.command)
  // A help that names no flag at all (a wrapper's one-line usage) cannot be checked against.
  if (!/(^|\s)--[a-zA-Z]/m.test(help)) {
    return { problems: [], warnings: [`\`${trainer} --help\` lists no --flags: the trainer's flags were not checked`] }
  }
  const flags: TrainerFlags = { passLabels: helpListsFlag(help, '--labels') }
  const unknown = trainerFlagsPassed(config, flags).filter((f) => !helpListsFlag(help, f))
  const problems = unknown.map((f) => {
    const where = f === '--data' || f === '--output' ? 'modelship always passes it' : `from trainer.args.${f.slice(2)}`
    return `trainer ${trainer} has no ${f} (${where}; not in its --help)`
  })
  return { problems, warnings: [], flags }
}

/**
 * Runs `<trainer.command> --help` once (issue 15: the probe through a pyenv shim is slow) and checks every
 * flag a training run passes. The answer is cached by the command and the trainer file's mtime and size:
 * in the workspace (`.modelship/cache/`, written by the train step through {@link saveTrainerHelp}, so a
 * refused or dry run leaves the workspace as it was) and in the user's cache directory
 * (`$XDG_CACHE_HOME/modelship`, else `~/.cache/modelship`), which a dry run may fill because it is no
 * file of the project: the second `release --dry-run` does not probe again.
 */
export async function checkTrainer(
  config: Config,
  o: { sh: Shell; stateDir: string; userCacheDir?: string | undefined },
): Promise<TrainerCheck> {
  const trainer = formatCommand(config.trainer.command)
  const key = await helpCacheKey(config)
  const workspaceCache = key ? join(o.stateDir, 'cache', `trainer-help-${key}.txt`) : undefined
  const userCache = key && o.userCacheDir ? join(o.userCacheDir, `trainer-help-${key}.txt`) : undefined
  const read = (path: string | undefined) => (path ? readFile(path, 'utf8').catch(() => undefined) : undefined)
  let help = await read(workspaceCache)
  if (help !== undefined) return checkHelpText(config, help)
  help = await read(userCache)
  if (help === undefined) {
    try {
      help = await readHelp(o.sh, config)
    } catch (e) {
      const message = messageOf(e)
      if (/command not found|cannot start/.test(message))
        return { problems: [`trainer ${trainer} is not runnable: ${message}`], warnings: [] }
      return {
        problems: [],
        warnings: [`cannot read \`${trainer} --help\` (${message}): the trainer's flags were not checked`],
      }
    }
    if (userCache) await saveUserCache(userCache, help)
  }
  return { ...checkHelpText(config, help), ...(workspaceCache ? { fresh: { path: workspaceCache, help } } : {}) }
}

/** `$XDG_CACHE_HOME/modelship`, else `$HOME/.cache/modelship`; undefined without either. */
export function userCacheDirOf(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'modelship')
  if (env.HOME && isAbsolute(env.HOME)) return join(env.HOME, '.cache', 'modelship')
  return undefined
}

/** Best effort: a cache that cannot be written (read-only home) only means the next run probes again. */
async function saveUserCache(path: string, help: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true })
    await writeFileAtomic(path, help)
  } catch {
    // not cached
  }
}

async function readHelp(sh: Shell, config: Config): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // A trainer that hangs on --help is stopped (with the preflight probes beside it, which then fail visibly).
      void sh.killAll()
      reject(new Error(`no answer within ${HELP_TIMEOUT_MS / 1000} s`))
    }, HELP_TIMEOUT_MS)
  })
  try {
    return await Promise.race([sh.read(trainerProbeCommand(config)), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The cache key of this trainer's help, or undefined when no trainer file identifies its version. */
async function helpCacheKey(config: Config): Promise<string | undefined> {
  // The last argv element that is a file is the trainer (python3 scripts/train.py → the script).
  for (const part of [...config.trainer.command].reverse()) {
    const path = isAbsolute(part) ? part : join(config.workspace, part)
    const s = await stat(path).catch(() => undefined)
    if (!s?.isFile()) continue
    return createHash('sha256')
      .update(JSON.stringify([config.trainer.command, path, s.mtimeMs, s.size]))
      .digest('hex')
      .slice(0, 16)
  }
  return undefined
}
