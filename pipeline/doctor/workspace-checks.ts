import { checkTrainer as checkTrainerHelp } from '../model/trainer-help.js'
import { join, resolve } from 'node:path'
import type { Config } from '../config/config.js'
import { resolveFeedbackSource } from '../config/feedback-source.js'
import { isModelshipError, messageOf } from '../engine/errors.js'
import { checkWriteTarget } from '../fs-atomic.js'
import { leadsOutside, pathKindProblem } from '../path-kind.js'
import { environmentOf } from '../environment.js'
import { sourceKind } from '../feedback/index.js'
import type { Shell, UserFiles } from '../ports/types.js'
import type { Finding } from './finding.js'

/**
 * Every file the environment names is there and of the right kind — compose files, edit files, env_files
 * and env_file readable regular files — and every file a release edits resolves inside the workspace
 * (unless allow_outside_workspace): found in preflight, before any work, not at the compose step after a push.
 */
export async function checkEnvironmentFiles(config: Config, envName: string, files: UserFiles): Promise<Finding[]> {
  const env = environmentOf(config, envName)
  const settings: Array<[string, readonly string[], 'read' | 'edit']> = [
    ['compose', env.compose, 'read'],
    ['edit', env.edit, 'edit'],
    ['env_files', env.env_files, 'edit'],
    ['env_file', env.env_file, 'read'],
  ]
  const findings: Finding[] = []
  const seen = new Set<string>()
  for (const [setting, paths, use] of settings) {
    for (const file of paths) {
      const key = `${use}:${file}`
      if (seen.has(key) || (use === 'read' && seen.has(`edit:${file}`))) continue
      seen.add(key)
      const path = join(config.workspace, file)
      const where = `environments.${envName}.${setting}`
      const problem = (await files.exists(path)) ? pathKindProblem(path, 'file') : 'no such file'
      if (problem !== undefined) {
        findings.push({
          check: 'files',
          level: 'error',
          message: `${file}: ${problem} (${where})`,
          fix: `create ${file} or fix ${where} in modelship.yaml`,
        })
        continue
      }
      if (use !== 'edit') continue
      try {
        await checkWriteTarget(path, {
          workspace: config.workspace,
          allowOutsideWorkspace: config.allow_outside_workspace,
        })
      } catch (e) {
        findings.push({
          check: 'files',
          level: 'error',
          message: `${messageOf(e)} (${where})`,
          ...(isModelshipError(e) && e.hint ? { fix: e.hint } : {}),
        })
      }
    }
  }
  if (findings.length === 0) findings.push({ check: 'files', level: 'ok', message: `the files of ${envName} exist` })
  return findings
}

export async function checkFeedbackSource(
  config: Config,
  files: UserFiles,
  databaseUrl: string | undefined,
): Promise<Finding> {
  try {
    const source = resolveFeedbackSource(config, databaseUrl)
    if (sourceKind(source) === 'file') {
      const problem = (await files.exists(source)) ? pathKindProblem(source, 'file') : 'no such file'
      if (problem !== undefined)
        return {
          check: 'feedback',
          level: 'error',
          message: `feedback.source: ${source}: ${problem}`,
          fix: 'point feedback.source at a .jsonl or .csv file',
        }
    }
    return { check: 'feedback', level: 'ok', message: `feedback source: ${sourceKind(source)}` }
  } catch (e) {
    return { check: 'feedback', level: 'error', message: messageOf(e) }
  }
}

/**
 * The other paths a release reads and writes: gates.eval_set and the trainer's script are readable files;
 * `.modelship/` and a local registry resolve inside the workspace (a symlink placed there must not make a
 * run write elsewhere), unless allow_outside_workspace.
 */
export function checkRunPaths(config: Config, stateDir: string): Finding[] {
  const findings: Finding[] = []
  const error = (message: string, fix: string): void =>
    void findings.push({ check: 'files', level: 'error', message, fix })
  if (config.gates.eval_set !== null) {
    const path = resolve(config.workspace, config.gates.eval_set)
    const problem = pathKindProblem(path, 'file')
    if (problem) error(`gates.eval_set: ${path}: ${problem}`, 'point gates.eval_set at a JSONL file, or set it to null')
  }
  for (const [setting, command] of [
    ['trainer.command', config.trainer.command],
    ['trainer.evaluate', config.trainer.evaluate],
  ] as const) {
    const script = command ? scriptOf(command) : undefined
    if (script === undefined) continue
    const problem = pathKindProblem(resolve(config.workspace, script), 'file')
    if (problem) error(`${setting}: ${script}: ${problem}`, `fix ${setting} in modelship.yaml`)
  }
  findings.push(...checkOwnDirs(config, stateDir))
  return findings
}

/** `.modelship/` and a local registry resolve inside the workspace unless allow_outside_workspace. */
export function checkOwnDirs(config: Config, stateDir: string): Finding[] {
  const findings: Finding[] = []
  const error = (message: string, fix: string): void =>
    void findings.push({ check: 'files', level: 'error', message, fix })
  if (!config.allow_outside_workspace) {
    const own: Array<[string, string]> = [['.modelship', stateDir]]
    if (config.registry === 'local') own.push(['registry_dir', config.registry_dir])
    for (const [what, dir] of own) {
      const outside = leadsOutside(dir, config.workspace)
      if (outside)
        error(
          `${what}: ${dir} leads to ${outside}, outside the workspace ${config.workspace}; ` +
            'modelship does not write there',
          'set allow_outside_workspace: true in modelship.yaml to allow it, or point it inside the workspace',
        )
    }
  }
  return findings
}

/**
 * The script a trainer command runs: its first argument that looks like a file path (`scripts/train.py`,
 * `./train.sh`), or the program itself when it is one. `python3 -m pkg` names no file.
 */
function scriptOf(command: readonly string[]): string | undefined {
  const [bin, ...args] = command
  const looksLikeFile = (a: string): boolean =>
    !a.startsWith('-') && (/[\\/]/.test(a) || /\.(py|m?js|cjs|ts|sh|rb|pl)$/.test(a))
  if (bin !== undefined && /[\\/]/.test(bin)) return bin
  if (args[0] === '-m' || args[0] === '-c') return undefined
  return args.find((a, i) => i === 0 && looksLikeFile(a))
}

/** The trainer runs and has every flag a release passes (read-only: the help cache is never written here). */
export async function checkTrainer(config: Config, sh: Shell, stateDir: string): Promise<Finding[]> {
  const command = config.trainer.command.join(' ')
  const result = await checkTrainerHelp(config, { sh, stateDir })
  const fix = 'fix trainer.command or trainer.args (modelship runs `<command> --help` to check the flags it passes)'
  return [
    ...result.problems.map((message): Finding => ({ check: 'trainer', level: 'error', message, fix })),
    ...result.warnings.map((message): Finding => ({ check: 'trainer', level: 'warn', message })),
    ...(result.problems.length
      ? []
      : [
          {
            check: 'trainer',
            level: 'ok',
            message: `trainer ${command} runs and takes every flag it is given`,
          } as Finding,
        ]),
  ]
}
