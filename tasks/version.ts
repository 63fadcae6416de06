import { labelsOf, sameLabelSet } from '../pipeline/model/labels.js'
import { formatVersion, modelIdFor, nextVersion } from '../pipeline/registry/version.js'
import { defineStep } from './step.js'

export const versionStep = defineStep({
  name: 'version',
  title: 'Pick next version',
  inDryRun: 'run',
  outputs: ['release'],
  inputs: () => ({}),
  async run(ctx, deps, task) {
    // A version reserved earlier in this run is kept: a run never takes a second number.
    if (ctx.release) {
      task.title =
        `Version ${ctx.release.version ? formatVersion(ctx.release.version) : '?'} (reserved earlier in ` +
        `this run): ${ctx.release.modelId}`
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
      if (previous && !sameLabelSet(previous, labels)) {
        bump = 'major'
        reason = `label set changed since ${latest.id}`
      } else reason = previous ? `same labels as ${latest.id}` : `labels of ${latest.id} unknown`
    }
    const version = nextVersion(
      existing.map((m) => m.version),
      bump,
    )
    ctx.release = { version, modelId: modelIdFor(org, prefix, version), bump, reason }
    task.title = `Next version ${formatVersion(version)}: ${ctx.release.modelId} (${reason})`
  },
})
