import { assertValidDataset } from '../pipeline/feedback/index.js'
import { datasetOfModel } from '../pipeline/model/dataset-of-model.js'
import { need } from '../pipeline/release/context.js'
import { formatVersion, versionOfRepo } from '../pipeline/registry/version.js'
import { defineStep } from './step.js'

export const validateStep = defineStep({
  name: 'validate',
  title: 'Validate dataset',
  // Nothing to validate when a dry run did not fetch the data (an export API).
  inDryRun: (ctx) => (ctx.dataset ? 'run' : 'skip'),
  plan: () => [{ kind: 'note', text: 'validate: needs the exported data' }],
  outputs: ['validation'],
  inputs: (ctx, deps) => ({
    sha: ctx.dataset?.sha256,
    labels: deps.config.model.labels,
    min: deps.config.gates.min_per_label,
    // Not the current model: a resumed run that got past this check keeps its decision.
    force: ctx.options.force,
  }),
  async run(ctx, deps, task) {
    const { report, sha256 } = need(ctx, 'dataset')
    const rules = { labels: deps.config.model.labels, minPerLabel: deps.config.gates.min_per_label }
    const { warnings } = assertValidDataset(report, rules)
    for (const w of warnings) deps.log.warn(`dataset: ${w}`)
    ctx.validation = { rows: report.kept, perLabel: report.perLabel, warnings }
    const counts = Object.entries(report.perLabel)
      .map(([l, n]) => `${l} ${n}`)
      .join(', ')
    task.title = `Validated ${report.kept} rows: ${counts}`

    // Nothing new, nothing released: the same data would train the same model again.
    const current = ctx.currentModel
    if (current === undefined || deps.config.model.base_aliases.includes(current)) return
    const trainedOn = await datasetOfModel(current, { history: await deps.history.read(), registry: deps.registry })
    if (trainedOn?.sha256 !== sha256) return
    const version = versionOfRepo(current, deps.config.model.prefix)
    const since = version ? formatVersion(version) : current
    const message = `no new feedback since ${since} (dataset ${sha256.slice(0, 12)})`
    if (ctx.options.force) {
      deps.log.warn(`--force: ${message}; releasing anyway`)
      return
    }
    return { stop: `${message}: nothing released; --force releases anyway` }
  },
})
