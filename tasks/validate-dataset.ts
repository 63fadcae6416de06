import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { assertValidDataset } from '../pipeline/feedback/index.js'
import type { StepFactory } from './types.js'

export const validateDatasetStep: StepFactory = (deps: Deps) => ({
  title: 'Validate dataset',
  task: async (ctx: Ctx, task) => {
    const { report } = need(ctx, 'dataset')
    const rules = { labels: deps.config.model.labels, minPerLabel: deps.config.gates.min_per_label }
    const { warnings } = assertValidDataset(report, rules)
    for (const w of warnings) deps.log.warn(`dataset: ${w}`)
    ctx.validation = { rows: report.kept, perLabel: report.perLabel, warnings }
    const counts = Object.entries(report.perLabel).map(([l, n]) => `${l} ${n}`).join(', ')
    task.title = `Validated ${report.kept} rows: ${counts}`
  },
})
