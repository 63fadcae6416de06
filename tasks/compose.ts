import { join } from 'node:path'
import { applyModelToEnvironment } from '../pipeline/environment.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

export const composeStep = defineStep({
  name: 'compose',
  title: 'Update compose files',
  inDryRun: 'run',
  outputs: ['composeEdit'],
  always: true,
  inputs: (ctx) => ({ modelId: ctx.release?.modelId }),
  async run(ctx, deps, task) {
    const release = need(ctx, 'release')
    // Preflight re-read it from the files (this run's own edit accounted for).
    const previousModel = need(ctx, 'currentModel')
    const edit = await applyModelToEnvironment({
      config: deps.config,
      envName: ctx.envName,
      modelId: release.modelId,
      files: deps.files,
      backupDir: join(ctx.runDir, 'backup'),
      allowOutsideWorkspace: deps.config.allow_outside_workspace,
      ...(ctx.composeEdit ? { earlier: ctx.composeEdit.files } : {}),
    })
    ctx.composeEdit = { previousModel, files: edit.files, diff: edit.diff }
    // The diff is printed in the run's summary: a terminal renderer would reflow it if printed mid-run.
    const changed = edit.files.filter((f) => f.changed).map((f) => f.path)
    const verb = ctx.dryRun ? 'Would set' : 'Set'
    task.title = changed.length
      ? `${verb} ${deps.config.deploy.build_arg}=${release.modelId} in ${changed.join(', ')} (was ${previousModel})`
      : `Compose files already set to ${release.modelId}`
  },
})
