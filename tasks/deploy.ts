import { buildInputsOf } from '../pipeline/deploy/build-inputs.js'
import { deployPlan } from '../pipeline/deploy/deploy-plan.js'
import { skipWithoutDeploy } from '../pipeline/deploy/deploy-target.js'
import { rollBackEnvironmentAfter } from '../pipeline/deploy/failure-policy.js'
import { previousTagsOf } from '../pipeline/deploy/previous-tag.js'
import { rollOut } from '../pipeline/deploy/rollout.js'
import { imageTagForPlan } from '../pipeline/deploy/run-tag.js'
import { deploySettingsOf } from '../pipeline/deploy/settings.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

export const deployStep = defineStep({
  name: 'deploy',
  title: 'Redeploy service',
  inDryRun: 'skip',
  outputs: ['deployment', 'rollout'],
  always: true,
  skip: (ctx) => skipWithoutDeploy(ctx.deployTarget),
  plan: (ctx, deps) => {
    const reason = skipWithoutDeploy(ctx.deployTarget)
    if (reason) return [{ kind: 'note', text: `deploy: ${reason}` }]
    const s = deploySettingsOf(deps.config, ctx.envName)
    const modelId = ctx.release?.modelId ?? '<next model>'
    const version = ctx.release?.version
    const tag =
      ctx.options.imageTag ??
      imageTagForPlan(deps.config, { modelId, ...(version ? { version } : {}), runId: ctx.runId })
    const inputs = buildInputsOf(deps.config, s, {
      modelId,
      secret: deps.secrets.hfToken !== undefined,
      runDir: '<run-dir>',
    })
    return deployPlan(s, { modelId, tag, inputs })
  },
  inputs: (ctx) => ({ image: ctx.image }),
  onFailure: rollBackEnvironmentAfter,
  async run(ctx, deps, task) {
    const image = need(ctx, 'image')
    const release = need(ctx, 'release')
    const s = deploySettingsOf(deps.config, ctx.envName)
    // What each host runs now is what a failure rolls it back to: read before anything changes.
    const previousTags = s.mode === 'image' ? await previousTagsOf(deps, s) : {}
    ctx.rollout = { previousTags, touched: [] }
    const hosts = await rollOut(deps, s, {
      modelId: release.modelId,
      runDir: ctx.runDir,
      ...(image.tag ? { tag: image.tag } : {}),
      ...(image.imageId && s.mode === 'compose' ? { canaryImageId: image.imageId } : {}),
      progress: ctx.rollout,
      onState: (host, state) => (task.output = `${s.service}${s.hosts.length > 1 ? ` on ${host}` : ''}: ${state}`),
    })
    const first = hosts[0]!
    ctx.deployment = {
      health: first.health,
      ...(first.containerId ? { containerId: first.containerId } : {}),
      ...(first.imageId ? { imageId: first.imageId } : {}),
      ...(image.tag && s.mode === 'image' ? { tag: image.tag } : {}),
      hosts,
    }
    const where =
      s.hosts.length > 1 ? ` on ${hosts.map((h) => `${h.host} (${h.health})`).join(', ')}` : `: ${first.health}`
    task.title = `Redeployed ${s.service}${s.mode === 'image' ? ` ${image.tag}` : ''}${where}`
  },
})
