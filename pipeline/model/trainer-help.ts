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
 * Runs `<trainer.command> --help` once (cached under `.modelship/cache/` by the command and the trainer
 * file's mtime and size, as the probe through a pyenv shim is slow; issue 15) and checks every flag a
 * training run passes. Nothing is written here (see saveTrainerHelp).
 */
export async function checkTrainer(config: Config, o: { sh: Shell; stateDir: string }): Promise<TrainerCheck> {
  const trainer = formatCommand(config.trainer.command)
  const cachePath = await helpCachePath(config, o.stateDir)
  let help = cachePath ? await readFile(cachePath, 'utf8').catch(() => undefined) : undefined
  let fresh: TrainerCheck['fresh']
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
    if (cachePath) fresh = { path: cachePath, help }
  }
  return { ...checkHelpText(config, help), ...(fresh ? { fresh } : {}) }
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

/** The cache file of this trainer's help, or undefined when no trainer file identifies its version. */
async function helpCachePath(config: Config, stateDir: string): Promise<string | undefined> {
  // The last argv element that is a file is the trainer (python3 scripts/train.py → the script).
  for (const part of [...config.trainer.command].reverse()) {
    const path = isAbsolute(part) ? part : join(config.workspace, part)
    const s = await stat(path).catch(() => undefined)
    if (!s?.isFile()) continue
    const key = createHash('sha256')
      .update(JSON.stringify([config.trainer.command, path, s.mtimeMs, s.size]))
      .digest('hex')
      .slice(0, 16)
    return join(stateDir, 'cache', `trainer-help-${key}.txt`)
  }
  return undefined
}
