import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { HistoryEntry } from '../history/audit-log.js'
import type { Delta, ReleaseChanges } from './change-types.js'

/** The earlier side of the comparison: what is known about the current model. */
export interface ChangeBaseline {
  modelId: string | null
  perLabel?: Readonly<Record<string, number>>
  metrics?: { accuracy: number; f1_macro: number }
  datasetUnknown?: string
}

const delta = (before: number | null | undefined, after: number): Delta => ({
  before: before ?? null,
  after,
  change: before === undefined || before === null ? null : after - before,
})

/** Compares this release's dataset and metrics with the baseline's. Pure. */
export function computeChanges(
  baseline: ChangeBaseline,
  next: { perLabel: Readonly<Record<string, number>>; metrics?: { accuracy: number; f1_macro: number } },
): ReleaseChanges {
  const before = baseline.perLabel
  const labels = [...new Set([...Object.keys(next.perLabel), ...Object.keys(before ?? {})])]
  const rows: Record<string, Delta> = {}
  // A label the new data no longer has counts as all its rows removed.
  for (const label of labels) rows[label] = delta(before ? (before[label] ?? 0) : null, next.perLabel[label] ?? 0)
  const total = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((n, v) => n + v, 0)
  return {
    since: baseline.modelId,
    ...(before ? {} : { datasetUnknown: baseline.datasetUnknown ?? 'no dataset report of the current model' }),
    rows,
    totalRows: delta(before ? total(before) : null, total(next.perLabel)),
    ...(next.metrics
      ? {
          metrics: {
            accuracy: delta(baseline.metrics?.accuracy, next.metrics.accuracy),
            f1_macro: delta(baseline.metrics?.f1_macro, next.metrics.f1_macro),
          },
        }
      : {}),
  }
}

/**
 * What is known about `modelId` from the audit log and the run directories: the newest successful
 * release that produced it gives its run (whose dataset-report.json has the rows per label) and its
 * metrics. Anything missing is unknown, never an error: release notes must not fail a release.
 */
export async function loadBaseline(
  modelId: string | null | undefined,
  history: readonly HistoryEntry[],
  stateDir: string,
): Promise<ChangeBaseline> {
  if (!modelId) return { modelId: null, datasetUnknown: 'the environment has no current model' }
  const made = history.find((e) => e.to === modelId && e.outcome === 'success' && e.action === 'release' && e.runId)
  const metrics = made?.metrics ?? history.find((e) => e.to === modelId && e.metrics)?.metrics
  const base: ChangeBaseline = { modelId, ...(metrics ? { metrics } : {}) }
  if (!made?.runId) return { ...base, datasetUnknown: `no release of ${modelId} in the history` }
  const reportPath = join(stateDir, 'runs', made.runId, 'dataset-report.json')
  try {
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as { perLabel?: unknown }
    if (!isCounts(report.perLabel)) return { ...base, datasetUnknown: `${reportPath} has no perLabel counts` }
    return { ...base, perLabel: report.perLabel }
  } catch {
    return { ...base, datasetUnknown: `${reportPath} is missing or unreadable` }
  }
}

function isCounts(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((n) => Number.isInteger(n))
}

const signed = (n: number | null, digits = 0): string =>
  n === null ? 'unknown' : `${n > 0 ? '+' : n < 0 ? '−' : '±'}${Math.abs(n).toFixed(digits)}`

/** Human lines for the release summary: `rows: 1626 (+120)`, `  calculator: 324 (+20)`, `accuracy 0.9800 (+0.0100)`. */
export function describeChanges(c: ReleaseChanges): string[] {
  const out = [
    `changes since ${c.since ?? 'nothing (first model)'}` +
      `${c.datasetUnknown ? ` (earlier rows unknown: ${c.datasetUnknown})` : ''}:`,
  ]
  out.push(`  rows ${c.totalRows.after} (${signed(c.totalRows.change)})`)
  const width = Math.max(0, ...Object.keys(c.rows).map((l) => l.length))
  for (const [label, d] of Object.entries(c.rows))
    out.push(`    ${label.padEnd(width)}  ${String(d.after).padStart(5)} (${signed(d.change)})`)
  if (c.metrics) {
    const m = c.metrics
    out.push(
      `  accuracy ${m.accuracy.after.toFixed(4)} (${signed(m.accuracy.change, 4)}), ` +
        `macro F1 ${m.f1_macro.after.toFixed(4)} (${signed(m.f1_macro.change, 4)})`,
    )
  }
  return out
}

/** The model card's "Changes" section (Markdown); the push step adds it to the card. */
export function renderChangesMarkdown(c: ReleaseChanges): string {
  const lines = ['## Changes', '']
  lines.push(
    c.since
      ? `Compared with \`${c.since}\`, the model this version replaces.`
      : 'The first fine-tuned model of this environment.',
  )
  if (c.datasetUnknown) lines.push('', `Earlier row counts are unknown (${c.datasetUnknown}).`)
  lines.push('', '| label | rows before | rows now | change |', '| --- | ---: | ---: | ---: |')
  const cell = (n: number | null): string => (n === null ? '?' : String(n))
  for (const [label, d] of Object.entries(c.rows))
    lines.push(`| ${label} | ${cell(d.before)} | ${d.after} | ${signed(d.change)} |`)
  lines.push(`| **total** | ${cell(c.totalRows.before)} | ${c.totalRows.after} | ${signed(c.totalRows.change)} |`)
  if (c.metrics) {
    const f = (n: number | null): string => (n === null ? '?' : n.toFixed(4))
    lines.push('', '| metric | before | now | change |', '| --- | ---: | ---: | ---: |')
    for (const [name, d] of [
      ['accuracy', c.metrics.accuracy],
      ['macro F1', c.metrics.f1_macro],
    ] as const) {
      lines.push(`| ${name} | ${f(d.before)} | ${d.after.toFixed(4)} | ${signed(d.change, 4)} |`)
    }
  }
  return `${lines.join('\n')}\n`
}
