import { verifyCommands, verifyService } from '../pipeline/deploy/deploy-ops.js'
import { skipWithoutDeploy } from '../pipeline/deploy/deploy-target.js'
import { rollBackEnvironmentAfter } from '../pipeline/deploy/failure-policy.js'
import { restoreAfterGithub } from '../pipeline/github/rollout.js'
import { deploySettingsOf } from '../pipeline/deploy/settings.js'
import { swarmVerifyPlan } from '../pipeline/deploy/swarm-plan.js'
import { verifyReplicas } from '../pipeline/deploy/swarm-verify.js'
import { need } from '../pipeline/release/context.js'
import { defineStep, showLine } from './step.js'

export const verifyStep = defineStep({
  name: 'verify',
  title: 'Verify service',
  inDryRun: 'skip',
  outputs: ['verification'],
  always: true,
  skip: (ctx) => skipWithoutDeploy(ctx.deployTarget),
  plan: (ctx, deps) => {
    const reason = skipWithoutDeploy(ctx.deployTarget)
    if (reason) return [{ kind: 'note', text: `verify: ${reason}` }]
    const s = deploySettingsOf(deps.config, ctx.envName)
    if (s.mode === 'swarm') return swarmVerifyPlan(s)
    return verifyCommands(s).map((argv) => ({ kind: 'exec' as const, argv, read: true }))
  },
  onFailure: (ctx, deps, failure) =>
    deps.config.deploy.mode === 'github'
      ? restoreAfterGithub(ctx, deps, failure, 'verify')
      : rollBackEnvironmentAfter(ctx, deps, failure),
  async run(ctx, deps, task) {
    need(ctx, 'deployment')
    const s = deploySettingsOf(deps.config, ctx.envName)
    const modelId = need(ctx, 'release').modelId
    const onLine = (l: string) => showLine(task, l)
    const commands =
      s.mode === 'swarm'
        ? await verifyReplicas(deps, s, { service: need(ctx, 'swarm').service, modelId, onLine })
        : await verifyService(deps, s, { modelId, onLine })
    ctx.verification = { commands }
    task.title = commands.length
      ? `Verified: ${commands.join('; ')}`
      : 'Verified: service healthy (no verify configured)'
  },
})
