import { buildInputsOf } from '../pipeline/deploy/build-inputs.js'
import { deployPlan } from '../pipeline/deploy/deploy-plan.js'
import { skipWithoutDeploy } from '../pipeline/deploy/deploy-target.js'
import { rollBackEnvironmentAfter } from '../pipeline/deploy/failure-policy.js'
import { deployWithGithub, githubDeployPlan, restoreAfterGithub } from '../pipeline/github/rollout.js'
import { previousTagsOf } from '../pipeline/deploy/previous-tag.js'
import { rollOut } from '../pipeline/deploy/rollout.js'
import { imageTagForPlan } from '../pipeline/deploy/run-tag.js'
import { deploySettingsOf } from '../pipeline/deploy/settings.js'
import { deploySwarm } from '../pipeline/deploy/swarm-deploy.js'
import { swarmDeployPlan } from '../pipeline/deploy/swarm-plan.js'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { need } from '../pipeline/release/context.js'
import { defineStep, showLine } from './step.js'

export const deployStep = defineStep({
  name: 'deploy',
  title: 'Redeploy service',
  inDryRun: 'skip',
  outputs: ['deployment', 'rollout', 'swarm', 'workflowRun'],
  always: true,
  skip: (ctx) => skipWithoutDeploy(ctx.deployTarget),
  plan: (ctx, deps) => {
    const reason = skipWithoutDeploy(ctx.deployTarget)
    if (reason) return [{ kind: 'note', text: `deploy: ${reason}` }]
    const s = deploySettingsOf(deps.config, ctx.envName)
    const modelId = ctx.release?.modelId ?? '<next model>'
    if (deps.config.deploy.mode === 'github') return githubDeployPlan(deps, ctx, ctx.githubTarget, modelId)
    const version = ctx.release?.version
    const tag =
      ctx.options.imageTag ??
      imageTagForPlan(deps.config, { modelId, ...(version ? { version } : {}), runId: ctx.runId })
    if (s.mode === 'swarm') return swarmDeployPlan(s, { tag })
    const inputs = buildInputsOf(deps.config, s, {
      modelId,
      secret: deps.secrets.hfToken !== undefined,
      runDir: '<run-dir>',
    })
    return deployPlan(s, { modelId, tag, inputs })
  },
  inputs: (ctx) => ({ image: ctx.image }),
  onFailure: (ctx, deps, failure) =>
    deps.config.deploy.mode === 'github'
      ? restoreAfterGithub(ctx, deps, failure, 'deploy')
      : rollBackEnvironmentAfter(ctx, deps, failure),
  async run(ctx, deps, task) {
    if (deps.config.deploy.mode === 'github') {
      const modelId = need(ctx, 'release').modelId
      const { run, settings } = await deployWithGithub(deps, ctx, { modelId, onLine: (l) => showLine(task, l) })
      ctx.workflowRun = { id: run.id, htmlUrl: run.htmlUrl, conclusion: run.conclusion ?? 'success' }
      ctx.deployment = { health: `workflow run ${run.id} succeeded` }
      task.title = `Deployed by ${settings.workflow} on ${settings.repo}: run ${run.id} succeeded (${run.htmlUrl})`
      return
    }
    const image = need(ctx, 'image')
    const release = need(ctx, 'release')
    const s = deploySettingsOf(deps.config, ctx.envName)
    if (s.mode === 'swarm') {
      if (!image.tag) throw new ModelshipError('MISSING_OUTPUT', 'deploy: the build step recorded no image tag')
      ctx.rollout = { previousTags: {}, touched: [] }
      const d = await deploySwarm(deps, s, {
        tag: image.tag,
        runDir: ctx.runDir,
        progress: ctx.rollout,
        onLine: (l) => showLine(task, l),
      })
      ctx.swarm = { stack: d.stack, service: d.service, tag: d.tag }
      const running = d.tasks.filter((t) => t.desired === 'running')
      ctx.deployment = { health: 'running', tag: image.tag }
      task.title =
        `Deployed stack ${d.stack}: ${d.service} ${image.tag} on ${running.length} ` +
        `replica${running.length === 1 ? '' : 's'} (Swarm: completed)`
      return
    }
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
