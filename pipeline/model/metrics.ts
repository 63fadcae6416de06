/** One class's scores; a trainer's own metrics.json may give only `f1`. */
export interface ClassMetrics {
  precision?: number
  recall?: number
  f1: number
  support?: number
}

/**
 * Which true label was predicted as which: `counts[i][j]` examples of `labels[i]` were predicted as `labels[j]`.
 * Written by the bundled trainer (held-out split) and by `trainer.evaluate` (the eval set); absent when a
 * trainer recorded only scores (its classification report has no predictions behind it).
 */
export interface ConfusionMatrix {
  labels: string[]
  counts: number[][]
}

/** The model the environment ran before, scored on the same eval set by the gate. */
export interface EvalSetBaseline {
  modelId: string
  accuracy: number
  f1_macro: number
  per_class: Record<string, ClassMetrics>
  confusion_matrix?: ConfusionMatrix
}

/** Scores on the fixed evaluation set (`gates.eval_set`), with what identifies that set. */
export interface EvalSetMetrics {
  name: string
  rows: number
  sha256: string
  accuracy: number
  f1_macro: number
  per_class: Record<string, ClassMetrics>
  confusion_matrix?: ConfusionMatrix
  /** The running model's scores on the same set, when the gate compared the two. */
  current?: EvalSetBaseline
}

/** The contract's metrics.json shape, plus where the numbers came from and the eval-set scores. */
export interface TrainingMetrics {
  accuracy: number
  f1_macro: number
  per_class: Record<string, ClassMetrics>
  n_train?: number
  n_test?: number
  /** `classification_report` when modelship read the numbers from the trainer's printed report. */
  source?: string
  eval_set?: EvalSetMetrics
  confusion_matrix?: ConfusionMatrix
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
    else if (labels.includes(name))
      perClass[name] = { precision: Number(p), recall: Number(r), f1: Number(f), support: Number(s) }
  }
  if (accuracy === undefined || Object.keys(perClass).length === 0) return undefined
  const f1s = Object.values(perClass).map((m) => m.f1)
  return {
    accuracy,
    f1_macro: macroF1 ?? f1s.reduce((a, b) => a + b, 0) / f1s.length,
    per_class: perClass,
  }
}

const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1

function perClassProblem(value: unknown, where: string): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return `"${where}" must be an object`
  for (const [label, c] of Object.entries(value as Record<string, unknown>)) {
    if (!c || typeof c !== 'object') return `${where}.${label} must be an object`
    const cm = c as Record<string, unknown>
    if (!isScore(cm.f1)) return `${where}.${label}.f1 must be a number from 0 to 1`
    for (const k of ['precision', 'recall']) {
      if (cm[k] !== undefined && cm[k] !== null && !isScore(cm[k]))
        return `${where}.${label}.${k} must be a number from 0 to 1`
    }
    const support = cm.support
    if (support !== undefined && support !== null && !(Number.isInteger(support) && (support as number) >= 0)) {
      return `${where}.${label}.support must be a whole number`
    }
  }
  return undefined
}

/** What is wrong with a confusion matrix: labels unique strings, counts a square of whole numbers. */
export function confusionMatrixProblem(value: unknown, where: string): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return `"${where}" must be an object`
  const { labels, counts } = value as Record<string, unknown>
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string'))
    return `${where}.labels must be a list of label names`
  if (new Set(labels).size !== labels.length) return `${where}.labels must not repeat a label`
  const n = labels.length
  if (!Array.isArray(counts) || counts.length !== n) return `${where}.counts must have one row per label (${n})`
  for (const [i, row] of counts.entries()) {
    if (!Array.isArray(row) || row.length !== n) return `${where}.counts[${i}] must have one count per label (${n})`
    if (!row.every((c) => Number.isSafeInteger(c) && (c as number) >= 0))
      return `${where}.counts[${i}] must hold whole numbers`
  }
  return undefined
}

/**
 * Checks a parsed metrics.json against the contract's shape; returns a problem or undefined. Optional
 * fields (`f1_macro`, per-class precision/recall/support, n_train/n_test) may be missing; present ones must fit.
 */
export function metricsProblem(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return 'not a JSON object'
  const m = value as Record<string, unknown>
  if (!isScore(m.accuracy)) return '"accuracy" must be a number from 0 to 1'
  if (m.f1_macro !== undefined && m.f1_macro !== null && !isScore(m.f1_macro))
    return '"f1_macro" must be a number from 0 to 1'
  const perClass = perClassProblem(m.per_class, 'per_class')
  if (perClass) return perClass
  for (const k of ['n_train', 'n_test']) {
    if (m[k] !== undefined && m[k] !== null && !(Number.isInteger(m[k]) && (m[k] as number) >= 0))
      return `"${k}" must be a whole number`
  }
  if (m.confusion_matrix !== undefined && m.confusion_matrix !== null) {
    const matrix = confusionMatrixProblem(m.confusion_matrix, 'confusion_matrix')
    if (matrix) return matrix
  }
  if (m.eval_set !== undefined && m.eval_set !== null) {
    const e = m.eval_set as Record<string, unknown>
    if (typeof e !== 'object' || typeof e.sha256 !== 'string' || !isScore(e.accuracy)) {
      return '"eval_set" must hold sha256 and accuracy'
    }
    const evalPerClass = perClassProblem(e.per_class ?? {}, 'eval_set.per_class')
    if (evalPerClass) return evalPerClass
    if (e.confusion_matrix !== undefined && e.confusion_matrix !== null) {
      const matrix = confusionMatrixProblem(e.confusion_matrix, 'eval_set.confusion_matrix')
      if (matrix) return matrix
    }
  }
  return undefined
}

const meanF1 = (perClass: Record<string, ClassMetrics>): number => {
  const f1s = Object.values(perClass).map((c) => c.f1)
  return f1s.length ? f1s.reduce((a, b) => a + b, 0) / f1s.length : 0
}

/** metrics.json text → the metrics, or what is wrong with it (bad JSON or the wrong shape). */
export function parseMetricsJson(
  text: string,
): { ok: true; metrics: TrainingMetrics } | { ok: false; problem: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (e) {
    return { ok: false, problem: `not valid JSON (${(e as Error).message})` }
  }
  const problem = metricsProblem(parsed)
  if (problem !== undefined) return { ok: false, problem }
  const metrics = parsed as TrainingMetrics
  // A missing macro F1 is the mean of the per-class F1s, as scikit-learn's macro average.
  if (typeof metrics.f1_macro !== 'number') metrics.f1_macro = meanF1(metrics.per_class)
  return { ok: true, metrics }
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
