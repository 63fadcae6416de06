import { messageOf } from '../engine/errors.js'
import { restoreEditedFiles } from '../environment.js'
import type { Deps } from '../ports/deps.js'
import type { Ctx } from '../release/context.js'
import { rollBackAfter } from './deploy-ops.js'

/** build failed: nothing running changed, so put the files back (a resumed run edits them again). */
export async function restoreFilesAfter(ctx: Ctx, deps: Deps, failure: unknown): Promise<unknown> {
  const edit = ctx.composeEdit
  if (!edit) return failure
  try {
    const restored = await restoreEditedFiles({ workspace: deps.config.workspace, edited: edit.files, files: deps.files, allowOutsideWorkspace: deps.config.allow_outside_workspace })
    if (restored.length) deps.log.warn(`build failed: restored ${restored.join(', ')} to their bytes from before the run`)
  } catch (e) {
    deps.log.warn(messageOf(e))
  }
  return failure
}

/** deploy or verify failed: the new container ran, so roll back to the previous model (exit 5, or 6). */
export async function rollBackEnvironmentAfter(ctx: Ctx, deps: Deps, failure: unknown): Promise<unknown> {
  const edit = ctx.composeEdit
  if (!edit) return failure
  return rollBackAfter(deps, failure, { envName: ctx.envName, edited: edit.files, previousModel: edit.previousModel, runDir: ctx.runDir })
}
