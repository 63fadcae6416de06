import { isAbsolute, join } from 'node:path'
import { engineCommand } from '../pipeline/compose/docker.js'
import { findBuildArgAsSecretWarning } from '../pipeline/compose/edit.js'
import type { Config } from '../pipeline/config.js'
import type { Ctx } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { currentModelOf, environmentOf } from '../pipeline/environment.js'
import { messageOf, ModelshipError } from '../pipeline/errors.js'
import type { Command } from '../pipeline/ports.js'
import { sourceKind } from '../pipeline/feedback/index.js'
import { isValidModelRef } from '../pipeline/registry/version.js'
import type { StepFactory } from './types.js'

export const trainerProbeCommand = (config: Config): Command => [...config.trainer.command, '--help']

/** Where the feedback comes from: a path resolved in the workspace, or a URL (DATABASE_URL when the source says `database` or `$DATABASE_URL`). */
export function resolveFeedbackSource(config: Config, databaseUrl: string | undefined): string {
  const source = config.feedback.source
  if (source === 'database' || source === 'postgres' || source === '$DATABASE_URL' || source === '${DATABASE_URL}') {
    if (!databaseUrl) throw new ModelshipError('CONFIG', `feedback.source is ${source} but DATABASE_URL is not set`)
    return databaseUrl
  }
  if (/^(https?|postgres(ql)?):\/\//i.test(source)) return source
  return isAbsolute(source) ? source : join(config.workspace, source)
}

/** Checks everything a release needs before any long work; all problems are reported together. */
export const preflight: StepFactory = (deps: Deps) => ({
  title: 'Check config, workspace, trainer, registry and Docker',
  task: async (ctx: Ctx, task) => {
    const { config, files, sh, registry, log } = deps
    const problems: string[] = []
    const env = environmentOf(config, ctx.envName)

    for (const file of new Set([...env.compose, ...env.edit, ...env.env_files])) {
      if (!(await files.exists(join(config.workspace, file)))) problems.push(`${file}: no such file (environments.${ctx.envName})`)
    }
    let source: string | undefined
    try {
      source = resolveFeedbackSource(config, deps.secrets.databaseUrl)
      if (sourceKind(source) === 'file' && !(await files.exists(source))) problems.push(`feedback.source: ${source}: no such file`)
    } catch (e) {
      problems.push(messageOf(e))
    }
    if (problems.length > 0) throw aggregate(problems)

    task.output = 'probing the trainer'
    try {
      await sh.read(trainerProbeCommand(config))
    } catch (e) {
      problems.push(`trainer ${config.trainer.command.join(' ')} is not runnable: ${messageOf(e)}`)
    }
    task.output = `checking ${registry.describe()}`
    try {
      await registry.checkAccess()
    } catch (e) {
      if (e instanceof ModelshipError && e.code === 'STEP_FAILED') throw e
      problems.push(messageOf(e))
    }

    let enabled = !ctx.options.noDeploy && config.deploy.mode !== 'none'
    let reason = ctx.options.noDeploy ? '--no-deploy' : config.deploy.mode === 'none' ? 'deploy.mode is none' : undefined
    if (enabled) {
      try {
        await sh.read(engineCommand())
      } catch (e) {
        if (config.deploy.mode === 'compose') problems.push(`deploy.mode is compose but no Docker engine answers: ${messageOf(e)}`)
        else {
          enabled = false
          reason = 'no Docker engine answers (deploy.mode: auto)'
        }
      }
    }
    if (problems.length > 0) throw aggregate(problems)

    for (const file of env.compose) {
      for (const w of findBuildArgAsSecretWarning(await files.readText(join(config.workspace, file)), { service: config.deploy.service })) log.warn(`${file}: ${w}`)
    }
    const current = (await currentModelOf(config, ctx.envName, files)) ?? config.model.base_aliases[0] ?? 'unknown'
    if (!isValidModelRef(current, config.model.base_aliases)) log.warn(`${ctx.envName} is configured with ${JSON.stringify(current)}, which is not a model id`)
    // On --resume the model from before the run was restored from state; the files may already name the new one.
    ctx.currentModel ??= current
    ctx.deployTarget = reason ? { enabled, reason } : { enabled }
    task.title = `Preflight: ${ctx.envName} runs ${ctx.currentModel}; ${registry.describe()}${enabled ? '' : `; build/deploy/verify skipped (${reason})`}`
  },
})

function aggregate(problems: string[]): ModelshipError {
  const [first, ...rest] = problems
  return new ModelshipError('CONFIG', rest.length ? `${first} (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : first!, rest.length ? { details: rest.join('\n') } : {})
}
