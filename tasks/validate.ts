import { assertValidDataset } from '../pipeline/feedback/index.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

export const validateStep = defineStep({
  name: 'validate',
  title: 'Validate dataset',
  // Nothing to validate when a dry run did not fetch the data (an export API).
  inDryRun: (ctx) => (ctx.dataset ? 'run' : 'skip'),
  plan: () => [{ kind: 'note', text: 'validate: needs the exported data' }],
  outputs: ['validation'],
  inputs: (ctx, deps) => ({ sha: ctx.dataset?.sha256, labels: deps.config.model.labels, min: deps.config.gates.min_per_label }),
  async run(ctx, deps, task) {
    const { report } = need(ctx, 'dataset')
    const rules = { labels: deps.config.model.labels, minPerLabel: deps.config.gates.min_per_label }
    const { warnings } = assertValidDataset(report, rules)
    for (const w of warnings) deps.log.warn(`dataset: ${w}`)
    ctx.validation = { rows: report.kept, perLabel: report.perLabel, warnings }
    const counts = Object.entries(report.perLabel).map(([l, n]) => `${l} ${n}`).join(', ')
    task.title = `Validated ${report.kept} rows: ${counts}`
  },
})
