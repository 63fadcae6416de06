import { deployPlan, deployService } from '../pipeline/deploy/deploy-ops.js'
import { skipWithoutDeploy } from '../pipeline/deploy/deploy-target.js'
import { rollBackEnvironmentAfter } from '../pipeline/deploy/failure-policy.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

export const deployStep = defineStep({
  name: 'deploy',
  title: 'Redeploy service',
  inDryRun: 'skip',
  outputs: ['deployment'],
  always: true,
  skip: (ctx) => skipWithoutDeploy(ctx.deployTarget),
  plan: (ctx, deps) => {
    const reason = skipWithoutDeploy(ctx.deployTarget)
    if (reason) return [{ kind: 'note', text: `deploy: ${reason}` }]
    const { up, ps } = deployPlan(deps.config, ctx.envName, ctx.release?.modelId ?? '<next model>', deps.secrets.hfToken !== undefined)
    return [
      { kind: 'exec', argv: up },
      { kind: 'exec', argv: ps, read: true, note: `until healthy, up to ${deps.config.deploy.health_timeout_s}s` },
    ]
  },
  inputs: (ctx) => ({ image: ctx.image }),
  onFailure: rollBackEnvironmentAfter,
  async run(ctx, deps, task) {
    const image = need(ctx, 'image')
    const deployed = await deployService(deps, {
      envName: ctx.envName,
      ...(image.imageId ? { expectedImageId: image.imageId } : {}),
      onState: (state) => (task.output = `${deps.config.deploy.service}: ${state}`),
    })
    ctx.deployment = deployed
    task.title = `Redeployed ${deps.config.deploy.service}: ${deployed.health}`
  },
})
