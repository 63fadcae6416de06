import { join } from 'node:path'
import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { applyModelToEnvironment } from '../pipeline/environment.js'
import type { StepFactory } from './types.js'

export const updateCompose: StepFactory = (deps: Deps) => ({
  title: 'Update compose files',
  task: async (ctx: Ctx, task) => {
    const release = need(ctx, 'release')
    const previousModel = ctx.composeEdit?.previousModel ?? need(ctx, 'currentModel')
    const edit = await applyModelToEnvironment({
      config: deps.config,
      envName: ctx.envName,
      modelId: release.modelId,
      files: deps.files,
      backupDir: join(ctx.runDir, 'backup'),
      ...(ctx.composeEdit ? { earlier: ctx.composeEdit.files } : {}),
    })
    ctx.composeEdit = { previousModel, files: edit.files, diff: edit.diff }
    // The diff is printed in the run's summary: a terminal renderer would reflow it if printed mid-run.
    const changed = edit.files.filter((f) => f.changed).map((f) => f.path)
    task.title = changed.length
      ? `Set ${deps.config.deploy.build_arg}=${release.modelId} in ${changed.join(', ')} (was ${previousModel})`
      : `Compose files already set to ${release.modelId}`
  },
})
