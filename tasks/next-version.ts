import type { Ctx } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { labelsOfModelConfig } from '../pipeline/metrics.js'
import type { ModelRegistry, RegistryModel } from '../pipeline/registry/types.js'
import { formatVersion, modelIdFor, nextVersion } from '../pipeline/registry/version.js'
import type { StepFactory } from './types.js'

/** The label set a registry model was trained with (its config.json id2label), if readable. */
export async function labelsOf(registry: ModelRegistry, model: RegistryModel): Promise<string[] | undefined> {
  const text = await registry.readFile(model.id, 'config.json')
  return text ? labelsOfModelConfig(text) : undefined
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n')

export const nextVersionStep: StepFactory = (deps: Deps) => ({
  title: 'Pick next version',
  task: async (ctx: Ctx, task) => {
    // A version reserved earlier in this run is kept: a run never takes a second number.
    if (ctx.release) {
      task.title = `Version ${formatVersion(ctx.release.version)} (reserved earlier in this run): ${ctx.release.modelId}`
      return
    }
    const { org, prefix } = deps.config.model
    const labels = ctx.model?.labels ?? deps.config.model.labels
    const existing = await deps.registry.listModels()
    const latest = existing.at(-1)
    let bump: 'major' | 'minor' = 'minor'
    let reason = 'first version'
    if (ctx.options.bump) {
      bump = ctx.options.bump
      reason = `--bump ${bump}`
    } else if (latest) {
      const previous = await labelsOf(deps.registry, latest)
      if (previous && !sameSet(previous, labels)) {
        bump = 'major'
        reason = `label set changed since ${latest.id}`
      } else reason = previous ? `same labels as ${latest.id}` : `labels of ${latest.id} unknown`
    }
    const version = nextVersion(existing.map((m) => m.version), bump)
    ctx.release = { version, modelId: modelIdFor(org, prefix, version), bump, reason }
    task.title = `Next version ${formatVersion(version)}: ${ctx.release.modelId} (${reason})`
  },
})
