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

const REPORT_ROW = /^\s*(\S+(?:\s\S+)*?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+(?:\.\d+)?)\s+(\d+)\s*$/
const ACCURACY_ROW = /^\s*accuracy\s+(\d+(?:\.\d+)?)\s+(\d+)\s*$/

/**
 * Reads metrics from a scikit-learn `classification_report` printed by a trainer that wrote no
 * metrics.json. Returns undefined when the text holds no complete report.
 */
export function parseClassificationReport(text: string, labels: readonly string[]): TrainingMetrics | undefined {
  const perClass: Record<string, ClassMetrics> = {}
  let accuracy: number | undefined
  let macroF1: number | undefined
  for (const line of text.split(/\r?\n/)) {
    const acc = ACCURACY_ROW.exec(line)
    if (acc) {
      accuracy = Number(acc[1])
      continue
    }
    const row = REPORT_ROW.exec(line)
    if (!row) continue
    const [, name, p, r, f, s] = row as unknown as [string, string, string, string, string, string]
    if (name === 'macro avg') macroF1 = Number(f)
    else if (labels.includes(name)) perClass[name] = { precision: Number(p), recall: Number(r), f1: Number(f), support: Number(s) }
  }
  if (accuracy === undefined || Object.keys(perClass).length === 0) return undefined
  const f1s = Object.values(perClass).map((m) => m.f1)
  return {
    accuracy,
    f1_macro: macroF1 ?? f1s.reduce((a, b) => a + b, 0) / f1s.length,
    per_class: perClass,
  }
}

/** Checks a parsed metrics.json against the contract's shape; returns a problem or undefined. */
export function metricsProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return 'not a JSON object'
  const m = value as Record<string, unknown>
  for (const k of ['accuracy', 'f1_macro']) {
    if (typeof m[k] !== 'number' || !Number.isFinite(m[k]) || (m[k] as number) < 0 || (m[k] as number) > 1) return `"${k}" must be a number from 0 to 1`
  }
  if (!m.per_class || typeof m.per_class !== 'object') return '"per_class" must be an object'
  for (const [label, c] of Object.entries(m.per_class as Record<string, unknown>)) {
    const cm = c as Record<string, unknown> | null
    if (!cm || typeof cm.f1 !== 'number') return `per_class.${label}.f1 must be a number`
  }
  return undefined
}

/** metrics.json text → the metrics, or what is wrong with it (bad JSON or the wrong shape). */
export function parseMetricsJson(text: string): { ok: true; metrics: TrainingMetrics } | { ok: false; problem: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return { ok: false, problem: `not valid JSON (${(e as Error).message})` }
  }
  const problem = metricsProblem(parsed)
  return problem === undefined ? { ok: true, metrics: parsed as TrainingMetrics } : { ok: false, problem }
}

/** The labels of a model's config.json (`id2label`, in id order), or undefined when it has none or is not JSON. */
export function labelsOfModelConfig(text: string): string[] | undefined {
  try {
    const id2label = (JSON.parse(text) as { id2label?: Record<string, string> } | null)?.id2label
    if (!id2label || typeof id2label !== 'object') return undefined
    return Object.entries(id2label)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([, label]) => label)
  } catch {
    return undefined
  }
}
