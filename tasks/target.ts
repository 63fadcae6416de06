import { checkEnvironmentFiles } from '../pipeline/doctor/workspace-checks.js'
import { findingLine } from '../pipeline/doctor/finding.js'
import { aggregateProblems, ModelshipError } from '../pipeline/engine/errors.js'
import { decideDeployTarget } from '../pipeline/deploy/deploy-target.js'
import { currentModelOf, environmentOf } from '../pipeline/environment.js'
import { assertValidModelRef } from '../pipeline/registry/version.js'
import { checkGithubTarget } from '../pipeline/github/access.js'
import { defineStep } from './step.js'

/**
 * The first step of `promote` and `rollback`: the model exists in the registry and is private (a base
 * alias needs no registry), the environment's current model, and whether the run redeploys.
 */
export const targetStep = defineStep({
  name: 'target',
  title: 'Check the model and the environment',
  inDryRun: 'run',
  outputs: ['release', 'currentModel', 'deployTarget', 'githubTarget'],
  always: true,
  async run(ctx, deps, task) {
    const { config, registry } = deps
    const modelId = ctx.options.target
    if (!modelId) throw new ModelshipError('USAGE', 'no model to promote')
    environmentOf(config, ctx.envName)
    assertValidModelRef(modelId, config.model.base_aliases)
    // The files it edits, of the right kind and inside the workspace, before anything else (issue 25).
    const fileProblems = (await checkEnvironmentFiles(config, ctx.envName, deps.files))
      .filter((f) => f.level === 'error')
      .map(findingLine)
    if (fileProblems.length > 0) throw aggregateProblems(fileProblems)
    if (!config.model.base_aliases.includes(modelId)) {
      const model = await registry.getModel(modelId)
      if (!model)
        throw new ModelshipError('BAD_INPUT', `${modelId} is not in ${registry.describe()}`, {
          hint: '`modelship list` shows the versions it holds',
        })
      if (!model.private)
        throw new ModelshipError(
          'BAD_INPUT',
          `${modelId} is public in ${registry.describe()}: refusing to deploy a public fine-tuned model`,
        )
    }
    const target = await decideDeployTarget(config, deps.sh, { noDeploy: ctx.options.noDeploy })
    if (target.problem || (ctx.options.deploy === true && !target.enabled)) {
      throw new ModelshipError('CONFIG', `--deploy: ${target.problem ?? target.reason ?? 'cannot deploy'}`)
    }
    if (target.enabled && config.deploy.mode === 'github') {
      const github = await checkGithubTarget(deps, ctx.envName)
      if (github.problems.length) throw aggregateProblems(github.problems)
      if (github.target) ctx.githubTarget = github.target
    }
    if (!target.enabled && ctx.options.deploy === undefined && target.reason?.startsWith('no Docker engine')) {
      deps.log.warn('no Docker engine answers (deploy.mode: auto): the files are changed, nothing is redeployed')
    }
    ctx.currentModel =
      (await currentModelOf(config, ctx.envName, deps.files)) ?? config.model.base_aliases[0] ?? 'unknown'
    ctx.release = { modelId, reason: ctx.options.action ?? 'promote' }
    ctx.deployTarget = target.reason ? { enabled: target.enabled, reason: target.reason } : { enabled: target.enabled }
    task.title =
      `${ctx.envName}: ${ctx.currentModel} → ` +
      `${modelId}${target.enabled ? ' (redeploys)' : ` (files only: ${target.reason})`}`
  },
})
