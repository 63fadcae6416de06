import { ModelshipError } from '../pipeline/engine/errors.js'
import { thresholdFailures } from '../pipeline/model/gates.js'
import { parseMetricsJson } from '../pipeline/model/metrics.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

const fmt = (n: number): string => n.toFixed(4)

export const gateStep = defineStep({
  name: 'gate',
  title: 'Check metrics gates',
  inDryRun: 'skip',
  outputs: ['gate'],
  plan: () => [{ kind: 'note', text: "gate: needs the trained model's metrics" }],
  inputs: (ctx, deps) => ({ metrics: ctx.model?.metrics, gates: deps.config.gates, current: ctx.currentModel, force: ctx.options.force }),
  async run(ctx, deps, task) {
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
