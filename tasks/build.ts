import { buildInputsOf } from '../pipeline/deploy/build-inputs.js'
import { buildPlan } from '../pipeline/deploy/deploy-plan.js'
import { buildImage, localImageOf } from '../pipeline/deploy/deploy-ops.js'
import { skipWithoutDeploy } from '../pipeline/deploy/deploy-target.js'
import { restoreFilesAfter } from '../pipeline/deploy/failure-policy.js'
import { DEFAULT_HOST, hostLabel } from '../pipeline/deploy/host.js'
import { imageTagForPlan, imageTagForRun } from '../pipeline/deploy/run-tag.js'
import { deploySettingsOf } from '../pipeline/deploy/settings.js'
import { need } from '../pipeline/release/context.js'
import { defineStep, showLine } from './step.js'

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
    const s = deploySettingsOf(deps.config, ctx.envName)
    const modelId = ctx.release?.modelId ?? '<next model>'
    if (s.mode === 'image' && ctx.options.imageTag) {
      return [
        { kind: 'note', text: `build: nothing to build, ${modelId} is in the registry as ${ctx.options.imageTag}` },
      ]
    }
    const version = ctx.release?.version
    const tag = imageTagForPlan(deps.config, { modelId, ...(version ? { version } : {}), runId: ctx.runId })
    const inputs = buildInputsOf(deps.config, s, {
      modelId,
      secret: deps.secrets.hfToken !== undefined,
      runDir: '<run-dir>',
    })
    return buildPlan(s, { modelId, tag, inputs })
  },
  inputs: (ctx) => ({ modelId: ctx.release?.modelId }),
  onFailure: restoreFilesAfter,
  async run(ctx, deps, task) {
    const release = need(ctx, 'release')
    const s = deploySettingsOf(deps.config, ctx.envName)
    const onLine = (line: string) => showLine(task, line)
    const what = `${s.service} with ${s.buildArg}=${release.modelId}`
    if (s.mode === 'compose') {
      const host = s.hosts[0]!
      const built = await buildImage(deps, s, { host, modelId: release.modelId, runDir: ctx.runDir, onLine })
      ctx.image = { model: release.modelId, ...(built.imageId ? { imageId: built.imageId } : {}) }
      const on = host.kind === 'default' ? '' : ` on ${hostLabel(host)} (the canary)`
      task.title = `Built ${what}${on}${built.imageId ? ` (${built.imageId.slice(0, 19)})` : ''}`
      return
    }
    if (ctx.options.imageTag) {
      ctx.image = { model: release.modelId, tag: ctx.options.imageTag, built: false }
      task.title = `Nothing to build: ${release.modelId} is in the registry as ${ctx.options.imageTag}`
      return
    }
    const version = release.version
    const tag = await imageTagForRun(deps, {
      modelId: release.modelId,
      ...(version ? { version } : {}),
      runId: ctx.runId,
    })
    // Built once per run: a resumed run (--from publish, or after a failed deploy) reuses the image this
    // run built when the engine still holds it under the tag.
    const earlier = ctx.image
    if (earlier?.built && earlier.tag === tag && earlier.model === release.modelId && earlier.imageId) {
      const local = await localImageOf(deps, s, DEFAULT_HOST, tag).catch(() => undefined)
      if (local?.imageId === earlier.imageId) {
        task.title = `Built ${what} earlier in this run: ${earlier.ref ?? tag}`
        return
      }
    }
    const built = await buildImage(deps, s, {
      host: DEFAULT_HOST,
      modelId: release.modelId,
      runDir: ctx.runDir,
      tag,
      onLine,
    })
    ctx.image = {
      model: release.modelId,
      tag,
      built: true,
      ...(built.ref ? { ref: built.ref } : {}),
      ...(built.imageId ? { imageId: built.imageId } : {}),
    }
    task.title = `Built ${what} as ${built.ref ?? `${s.tagVar}=${tag}`}`
  },
})
