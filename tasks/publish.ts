import { publishPlan } from '../pipeline/deploy/deploy-plan.js'
import { publishImage } from '../pipeline/deploy/deploy-ops.js'
import { skipInGithubMode, skipWithoutDeploy } from '../pipeline/deploy/deploy-target.js'
import { restoreFilesAfter } from '../pipeline/deploy/failure-policy.js'
import { imageTagForPlan } from '../pipeline/deploy/run-tag.js'
import { deploySettingsOf, publishesImage } from '../pipeline/deploy/settings.js'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { need } from '../pipeline/release/context.js'
import type { Ctx } from '../pipeline/release/context.js'
import type { Deps } from '../pipeline/ports/deps.js'
import { defineStep, showLine } from './step.js'

/** Why publish does not apply: no deploy, not image or swarm mode, or the tag is in the registry already. */
function notPublishing(ctx: Ctx, deps: Deps): string | false {
  const reason = skipWithoutDeploy(ctx.deployTarget)
  if (reason) return reason
  const github = skipInGithubMode(deps.config)
  if (github) return github
  if (!publishesImage(deploySettingsOf(deps.config, ctx.envName))) return 'skipped: deploy.mode is not image'
  const tag = ctx.options.imageTag
  return tag ? `skipped: ${tag} is in the registry already` : false
}

export const publishStep = defineStep({
  name: 'publish',
  title: 'Publish image',
  inDryRun: 'skip',
  outputs: ['published'],
  always: true,
  outputBar: 5,
  skip: notPublishing,
  plan: (ctx, deps) => {
    const reason = notPublishing(ctx, deps)
    if (reason) return reason.includes('not image') ? [] : [{ kind: 'note', text: `publish: ${reason}` }]
    const modelId = ctx.release?.modelId ?? '<next model>'
    const version = ctx.release?.version
    const tag = imageTagForPlan(deps.config, { modelId, ...(version ? { version } : {}), runId: ctx.runId })
    return publishPlan(deploySettingsOf(deps.config, ctx.envName), tag)
  },
  inputs: (ctx) => ({ tag: ctx.image?.tag, imageId: ctx.image?.imageId }),
  // Nothing running changed yet: the files go back, as after a failed build.
  onFailure: restoreFilesAfter,
  async run(ctx, deps, task) {
    const image = need(ctx, 'image')
    const s = deploySettingsOf(deps.config, ctx.envName)
    if (!image.tag) throw new ModelshipError('MISSING_OUTPUT', 'publish: the build step recorded no image tag')
    await publishImage(deps, s, { tag: image.tag, onLine: (l) => showLine(task, l) })
    ctx.published = { tag: image.tag, ...(image.ref ? { ref: image.ref } : {}) }
    task.title = `Published ${image.ref ?? `${s.service} as ${image.tag}`}`
  },
})
