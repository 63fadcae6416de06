import type { Config } from '../config/config.js'
import type { TrainingMetrics } from './metrics.js'

export interface GateFailure {
  metric: string
  value: number
  bound: number
  rule: string
}

/** Pure: the threshold gates, in order; empty when the model passes. */
export function thresholdFailures(
  metrics: TrainingMetrics,
  gates: Config['gates'],
  labels: readonly string[],
): GateFailure[] {
  const failures: GateFailure[] = []
  if (metrics.accuracy < gates.min_accuracy)
    failures.push({
      metric: 'accuracy',
      value: metrics.accuracy,
      bound: gates.min_accuracy,
      rule: 'gates.min_accuracy',
    })
  for (const label of labels) {
    const f1 = metrics.per_class[label]?.f1 ?? 0
    if (f1 < gates.min_class_f1)
      failures.push({ metric: `f1[${label}]`, value: f1, bound: gates.min_class_f1, rule: 'gates.min_class_f1' })
  }
  return failures
}
