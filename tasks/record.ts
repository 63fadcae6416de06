import { join } from 'node:path'
import { computeChanges, loadBaseline } from '../pipeline/release/changes.js'
import { need } from '../pipeline/release/context.js'
import { runEntry } from '../pipeline/release/journal.js'
import { defineStep } from './step.js'

export const recordStep = defineStep({
  name: 'record',
  title: 'Record release',
  inDryRun: 'run',
  outputs: [],
  always: true,
  async run(ctx, deps, task) {
    const release = need(ctx, 'release')
    const replaced = ctx.composeEdit?.previousModel ?? ctx.currentModel ?? null
    if ((ctx.options.action ?? 'release') === 'release' && ctx.dataset && !ctx.changes) {
      // The release note: rows per label and metrics against the model this release replaces.
      const baseline = await loadBaseline(replaced, await deps.history.read(), deps.stateDir)
      const metrics = ctx.model?.metrics
      ctx.changes = computeChanges(baseline, {
        perLabel: ctx.dataset.report.perLabel,
        ...(metrics ? { metrics: { accuracy: metrics.accuracy, f1_macro: metrics.f1_macro } } : {}),
      })
    }
    // The history port appends a run's line at most once, so a replay after a kill adds nothing.
    await deps.history.append(runEntry(ctx, deps.clock.now(), 'success'))
    task.title =
      `Recorded in ${join('.modelship', 'history.jsonl')}: ${ctx.envName} ${replaced ?? '?'} → ` + `${release.modelId}`
  },
})
