import { deployPlan } from '../pipeline/deploy/deploy-ops.js'
import { buildImage } from '../pipeline/deploy/deploy-ops.js'
import { skipWithoutDeploy } from '../pipeline/deploy/deploy-target.js'
import { restoreFilesAfter } from '../pipeline/deploy/failure-policy.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

export const buildStep = defineStep({
  name: 'build',
  title: 'Build image',
  inDryRun: 'skip',
  outputs: ['image'],
  always: true,
  outputBar: 5,
  skip: (ctx) => skipWithoutDeploy(ctx.deployTarget),
  plan: (ctx, deps) => {
    const reason = skipWithoutDeploy(ctx.deployTarget)
    if (reason) return [{ kind: 'note', text: `build: ${reason}` }]
    const { build } = deployPlan(deps.config, ctx.envName, ctx.release?.modelId ?? '<next model>', deps.secrets.hfToken !== undefined)
    return [{ kind: 'exec', argv: build }]
  },
  inputs: (ctx) => ({ modelId: ctx.release?.modelId }),
  onFailure: restoreFilesAfter,
  async run(ctx, deps, task) {
    const release = need(ctx, 'release')
    const built = await buildImage(deps, { envName: ctx.envName, modelId: release.modelId, runDir: ctx.runDir, onLine: (line) => (task.output = line) })
    ctx.image = built
    task.title = `Built ${deps.config.deploy.service} with ${deps.config.deploy.build_arg}=${release.modelId}${built.imageId ? ` (${built.imageId.slice(0, 19)})` : ''}`
  },
})
