import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { verifyService } from '../pipeline/deploy-ops.js'
import { skipWithoutDocker } from './build-image.js'
import type { StepFactory } from './types.js'

export const verifyServiceStep: StepFactory = (deps: Deps) => ({
  title: 'Verify service',
  skip: skipWithoutDocker,
  task: async (ctx: Ctx, task) => {
    need(ctx, 'deployment')
    const commands = await verifyService(deps, { modelId: need(ctx, 'release').modelId, onLine: (l) => (task.output = l) })
    ctx.verification = { commands }
    task.title = commands.length ? `Verified: ${commands.join('; ')}` : 'Verified: service healthy (no deploy.verify configured)'
  },
})
