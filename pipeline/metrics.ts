export interface ClassMetrics {
  precision: number
  recall: number
  f1: number
  support: number
}

/** The contract's metrics.json shape. */
export interface TrainingMetrics {
  accuracy: number
  f1_macro: number
  per_class: Record<string, ClassMetrics>
  n_train?: number
  n_test?: number
}
