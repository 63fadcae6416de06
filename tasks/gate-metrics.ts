import type { Config } from '../pipeline/config.js'
import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { ModelshipError } from '../pipeline/errors.js'
import { parseMetricsJson, type TrainingMetrics } from '../pipeline/metrics.js'
import type { StepFactory } from './types.js'

export interface GateFailure {
  metric: string
  value: number
  bound: number
  rule: string
}

/** Pure: the threshold gates, in order; empty when the model passes. */
export function thresholdFailures(metrics: TrainingMetrics, gates: Config['gates'], labels: readonly string[]): GateFailure[] {
  const failures: GateFailure[] = []
  if (metrics.accuracy < gates.min_accuracy) failures.push({ metric: 'accuracy', value: metrics.accuracy, bound: gates.min_accuracy, rule: 'gates.min_accuracy' })
  for (const label of labels) {
    const f1 = metrics.per_class[label]?.f1 ?? 0
    if (f1 < gates.min_class_f1) failures.push({ metric: `f1[${label}]`, value: f1, bound: gates.min_class_f1, rule: 'gates.min_class_f1' })
  }
  return failures
}

const fmt = (n: number): string => n.toFixed(4)

export const gateMetrics: StepFactory = (deps: Deps) => ({
  title: 'Check metrics gates',
  task: async (ctx: Ctx, task) => {
    const { metrics } = need(ctx, 'model')
    const { gates, model } = deps.config
    const failures = thresholdFailures(metrics, gates, model.labels)
    if (failures.length > 0) {
      const [first] = failures
      throw new ModelshipError(
        'GATE_REJECTED',
        `rejected: ${failures.map((f) => `${f.metric} ${fmt(f.value)} < ${f.bound} (${f.rule})`).join('; ')}`,
        { hint: `${first!.metric} must reach ${first!.bound}; improve the data or lower ${first!.rule} in modelship.yaml` },
      )
    }
    const current = need(ctx, 'currentModel')
    let baseline: { modelId: string; accuracy: number } | undefined
    if (gates.no_regression && !model.base_aliases.includes(current)) {
      const text = await deps.registry.readFile(current, 'metrics.json')
      const parsed = text === undefined ? undefined : parseMetricsJson(text)
      if (parsed?.ok) {
        baseline = { modelId: current, accuracy: parsed.metrics.accuracy }
      } else {
        deps.log.warn(`no-regression gate: no metrics.json for ${current} in ${deps.registry.describe()}; nothing to compare with`)
      }
    }
    if (baseline && metrics.accuracy < baseline.accuracy) {
      const message = `accuracy ${fmt(metrics.accuracy)} < ${fmt(baseline.accuracy)} of ${baseline.modelId}, which ${ctx.envName} uses now (gates.no_regression)`
      if (!ctx.options.force) throw new ModelshipError('GATE_REJECTED', `rejected: ${message}`, { hint: 'pass --force to release it anyway' })
      deps.log.warn(`--force: ${message}`)
    }
    ctx.gate = { passed: true, forced: Boolean(baseline && metrics.accuracy < baseline.accuracy), ...(baseline ? { baseline } : {}) }
    task.title = `Gates passed: accuracy ${fmt(metrics.accuracy)} ≥ ${gates.min_accuracy}, every class F1 ≥ ${gates.min_class_f1}${baseline ? `, ≥ ${baseline.modelId} (${fmt(baseline.accuracy)})` : ''}`
  },
})

