import { checkTrainer as checkTrainerHelp } from '../model/trainer-help.js'
import { join } from 'node:path'
import type { Config } from '../config/config.js'
import { resolveFeedbackSource } from '../config/feedback-source.js'
import { messageOf } from '../engine/errors.js'
import { environmentOf } from '../environment.js'
import { sourceKind } from '../feedback/index.js'
import type { Shell, UserFiles } from '../ports/types.js'
import type { Finding } from './finding.js'

/** Every file the environment names exists: compose files, edit files, env_files and env_file. */
export async function checkEnvironmentFiles(config: Config, envName: string, files: UserFiles): Promise<Finding[]> {
  const env = environmentOf(config, envName)
  const settings: Array<[string, readonly string[]]> = [
    ['compose', env.compose],
    ['edit', env.edit],
    ['env_files', env.env_files],
    ['env_file', env.env_file],
  ]
  const findings: Finding[] = []
  const seen = new Set<string>()
  for (const [setting, paths] of settings) {
    for (const file of paths) {
      if (seen.has(file)) continue
      seen.add(file)
      if (await files.exists(join(config.workspace, file))) continue
      findings.push({
        check: 'files',
        level: 'error',
        message: `${file}: no such file (environments.${envName}.${setting})`,
        fix: `create ${file} or fix environments.${envName}.${setting} in modelship.yaml`,
      })
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
    if (sourceKind(source) === 'file' && !(await files.exists(source))) {
      return {
        check: 'feedback',
        level: 'error',
        message: `feedback.source: ${source}: no such file`,
        fix: 'fix feedback.source',
      }
    }
    return { check: 'feedback', level: 'ok', message: `feedback source: ${sourceKind(source)}` }
  } catch (e) {
    return { check: 'feedback', level: 'error', message: messageOf(e) }
  }
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
