import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { buildImage } from '../pipeline/deploy-ops.js'
import type { StepFactory } from './types.js'

export const skipWithoutDocker = (ctx: Ctx): string | false => (ctx.deployTarget?.enabled === false ? `skipped: ${ctx.deployTarget.reason}` : false)

export const buildImageStep: StepFactory = (deps: Deps) => ({
  title: 'Build image',
  skip: skipWithoutDocker,
  rendererOptions: { outputBar: 5 },
  task: async (ctx: Ctx, task) => {
    const release = need(ctx, 'release')
    const built = await buildImage(deps, {
      envName: ctx.envName,
      modelId: release.modelId,
      runDir: ctx.runDir,
      onLine: (line) => (task.output = line),
    })
    ctx.image = built
    task.title = `Built ${deps.config.deploy.service} with ${deps.config.deploy.build_arg}=${release.modelId}${built.imageId ? ` (${built.imageId.slice(0, 19)})` : ''}`
  },
})
