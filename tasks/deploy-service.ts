import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { deployService } from '../pipeline/deploy-ops.js'
import { skipWithoutDocker } from './build-image.js'
import type { StepFactory } from './types.js'

export const deployServiceStep: StepFactory = (deps: Deps) => ({
  title: 'Redeploy service',
  skip: skipWithoutDocker,
  task: async (ctx: Ctx, task) => {
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
