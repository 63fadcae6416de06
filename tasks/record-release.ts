import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { whoami, type History, type HistoryEntry } from '../pipeline/history.js'
import type { StepFactory } from './types.js'

/** The history line of a release, whatever its outcome. */
export function releaseEntry(ctx: Ctx, at: Date, outcome: HistoryEntry['outcome'], extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    at: at.toISOString(),
    action: 'release',
    env: ctx.envName,
    from: ctx.composeEdit?.previousModel ?? ctx.currentModel ?? null,
    to: ctx.release?.modelId ?? null,
    outcome,
    deployed: ctx.deployment !== undefined,
    ...whoami(),
    runId: ctx.runId,
    ...(ctx.dataset ? { datasetSha256: ctx.dataset.sha256 } : {}),
    ...(ctx.model ? { metrics: { accuracy: ctx.model.metrics.accuracy, f1_macro: ctx.model.metrics.f1_macro } } : {}),
    ...extra,
  }
}

export const recordRelease =
  (history: History): ((deps: Deps) => ReturnType<StepFactory>) =>
  (deps: Deps) => ({
    title: 'Record release',
    task: async (ctx: Ctx, task) => {
      const release = need(ctx, 'release')
      await history.append(releaseEntry(ctx, deps.clock.now(), 'success'))
      task.title = `Recorded ${ctx.envName}: ${ctx.composeEdit?.previousModel ?? '?'} → ${release.modelId}`
    },
  })
