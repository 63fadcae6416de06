import { messageOf } from '../engine/errors.js'
import { restoreEditedFiles } from '../environment.js'
import type { Deps } from '../ports/deps.js'
import type { Ctx } from '../release/context.js'
import { hostLabel } from './host.js'
import { rollBackAfter } from './rollout.js'
import { deploySettingsOf } from './settings.js'
import { swarmRollBackAfter } from './swarm-deploy.js'

/** build or publish failed: nothing running changed, so put the files back (a resumed run edits them again). */
export async function restoreFilesAfter(ctx: Ctx, deps: Deps, failure: unknown): Promise<unknown> {
  const edit = ctx.composeEdit
  if (!edit) return failure
  try {
    const restored = await restoreEditedFiles({
      workspace: deps.config.workspace,
      edited: edit.files,
      files: deps.files,
      allowOutsideWorkspace: deps.config.allow_outside_workspace,
    })
    if (restored.length)
      deps.log.warn(`build failed: restored ${restored.join(', ')} to their bytes from before the run`)
  } catch (e) {
    deps.log.warn(messageOf(e))
  }
  return failure
}

/**
 * deploy or verify failed: the hosts this run reached (1..k; all of them after a failed verify) go back
 * to what they ran before, the others stay untouched (exit 5, or 6 when that fails).
 */
export async function rollBackEnvironmentAfter(ctx: Ctx, deps: Deps, failure: unknown): Promise<unknown> {
  const edit = ctx.composeEdit
  if (!edit) return failure
  const s = deploySettingsOf(deps.config, ctx.envName)
  if (s.mode === 'swarm') {
    const previousTag = Object.values(ctx.rollout?.previousTags ?? {})[0] ?? null
    return swarmRollBackAfter(deps, s, failure, {
      newTag: ctx.image?.tag,
      ...(ctx.swarm ? { service: ctx.swarm.service } : {}),
      previousTag,
      previousModel: edit.previousModel,
      edited: edit.files,
      runDir: ctx.runDir,
      onLine: (l) => deps.log.info(l),
    })
  }
  const progress = ctx.rollout ?? { previousTags: {}, touched: s.hosts.map(hostLabel) }
  return rollBackAfter(deps, s, failure, {
    touched: progress.touched,
    previousTags: progress.previousTags,
    previousModel: edit.previousModel,
    edited: edit.files,
    runDir: ctx.runDir,
  })
}
