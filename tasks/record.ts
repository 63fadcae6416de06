import { join } from 'node:path'
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
    // The history port appends a run's line at most once, so a replay after a kill adds nothing.
    await deps.history.append(runEntry(ctx, deps.clock.now(), 'success'))
    task.title = `Recorded in ${join('.modelship', 'history.jsonl')}: ${ctx.envName} ${ctx.composeEdit?.previousModel ?? '?'} → ${release.modelId}`
  },
})
