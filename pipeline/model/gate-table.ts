import type { Config } from '../config/config.js'
import type { ClassMetrics } from './metrics.js'

/** The scores the gate judges: either model's, on one basis. */
export interface GateScores {
  accuracy: number
  f1_macro: number
  per_class: Record<string, ClassMetrics>
}

export interface GateRow {
  metric: string
  new: number
  /** The same metric of the model the environment runs now, when known. */
  current?: number
  /** The threshold (gates.min_accuracy / min_class_f1), when one applies. */
  min?: number
  /** Which rules the new model breaks on this row. */
  failed: string[]
}

/** The gate as data: what was compared, on what, and which rows fail. Printed by the step and the summary. */
export interface GateTable {
  /** `eval set` (old and new scored on gates.eval_set) or `split metrics` (each model's own test split). */
  basis: 'eval set' | 'split metrics'
  evalSet?: { name: string; rows: number; sha256: string }
  currentModel: string
  /** Whether the current model's numbers are known (no-regression compares them). */
  compared: boolean
  rows: GateRow[]
  notes: string[]
}

/** Pure: the gate table of new vs current scores against the configured gates. */
export function buildGateTable(o: {
  basis: GateTable['basis']
  evalSet?: GateTable['evalSet']
  gates: Config['gates']
  labels: readonly string[]
  newScores: GateScores
  currentModel: string
  current?: GateScores
  notes?: string[]
}): GateTable {
  const { gates, newScores, current } = o
  const row = (
    metric: string,
    value: number,
    was: number | undefined,
    min: number | undefined,
    noRegression: boolean,
  ): GateRow => {
    const failed: string[] = []
    if (min !== undefined && value < min)
      failed.push(metric === 'accuracy' ? 'gates.min_accuracy' : 'gates.min_class_f1')
    if (noRegression && was !== undefined && value < was) failed.push('gates.no_regression')
    return {
      metric,
      new: value,
      ...(was !== undefined ? { current: was } : {}),
      ...(min !== undefined ? { min } : {}),
      failed,
    }
  }
  const rows: GateRow[] = [
    row('accuracy', newScores.accuracy, current?.accuracy, gates.min_accuracy, gates.no_regression),
    row('macro F1', newScores.f1_macro, current?.f1_macro, undefined, false),
    ...o.labels.map((label) =>
      row(
        `f1[${label}]`,
        newScores.per_class[label]?.f1 ?? 0,
        current?.per_class[label]?.f1,
        gates.min_class_f1,
        false,
      ),
    ),
  ]
  return {
    basis: o.basis,
    ...(o.evalSet ? { evalSet: o.evalSet } : {}),
    currentModel: o.currentModel,
    compared: current !== undefined,
    rows,
    notes: o.notes ?? [],
  }
}

/** Every rule the table breaks, as `metric value < bound (rule)`; the basis is in the table's heading. */
export function gateTableFailures(t: GateTable, envName: string): Array<{ rule: string; text: string }> {
  return t.rows.flatMap((r) =>
    r.failed.map((rule) => ({
      rule,
      text:
        rule === 'gates.no_regression'
          ? `${r.metric} ${fmt(r.new)} < ${fmt(r.current ?? 0)} of ${t.currentModel}, which ${envName} uses now ` +
            `(${rule})`
          : `${r.metric} ${fmt(r.new)} < ${r.min} (${rule})`,
    })),
  )
}

const fmt = (n: number): string => n.toFixed(4)

/** The table as text lines: new and current side by side per metric and per class. */
export function formatGateTable(t: GateTable): string[] {
  const on =
    t.basis === 'eval set' && t.evalSet
      ? `eval set ${t.evalSet.name} (${t.evalSet.rows} rows, sha256 ${t.evalSet.sha256.slice(0, 12)})`
      : "split metrics (each model's own test split)"
  const currentHead = t.compared ? t.currentModel : `${t.currentModel} (not compared)`
  const head = ['metric', 'new', currentHead, 'min', '']
  const body = t.rows.map((r) => [
    r.metric,
    fmt(r.new),
    r.current === undefined ? '-' : fmt(r.current),
    r.min === undefined ? '' : String(r.min),
    r.failed.length ? `✗ ${r.failed.join(', ')}` : 'ok',
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [
    `gate on ${on}:`,
    `  ${line(head)}`,
    ...body.map((b) => `  ${line(b)}`),
    ...t.notes.map((n) => `  note: ${n}`),
  ]
}
