import { ModelshipError } from '../engine/errors.js'
import type { DatasetReport, RowRef } from './types.js'

/**
 * Every problem of a feedback source at once: malformed rows, rows with labels outside the model's,
 * and (listed alongside, as they are dropped) empty texts. One headline line, then the first
 * LISTED problems in source order with their line numbers / ids, then counts per kind.
 */

const LISTED = 20

interface Problem {
  ref: RowRef
  text: string
}

/** The problems of the report's rows as one error, or undefined when no row is malformed or unknown-labeled. */
export function rowProblemsError(
  report: DatasetReport,
  labels: readonly string[] | undefined,
): ModelshipError | undefined {
  const malformed = report.malformed?.count ?? 0
  const unknown = Object.entries(report.unknownLabels ?? {})
  const unknownRows = unknown.reduce((n, [, u]) => n + u.count, 0)
  if (malformed === 0 && unknownRows === 0) return undefined
  const noun = refNoun(report)
  const problems: Problem[] = []
  for (const m of report.malformed?.first ?? []) problems.push({ ref: m.ref, text: m.reason })
  for (const [label, u] of unknown) {
    const hint = labels ? closestLabel(label, labels) : undefined
    const text = `unknown label ${JSON.stringify(label)}${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ''}`
    for (const ref of u.first) problems.push({ ref, text })
  }
  const empty = report.dropped.empty_text
  for (const ref of empty?.first ?? []) problems.push({ ref, text: 'empty "text" (dropped)' })
  problems.sort((a, b) => compareRefs(a.ref, b.ref))

  const total = malformed + unknownRows + (empty?.count ?? 0)
  if (total === 1 && problems.length === 1) {
    const [only] = problems
    const where = report.refs === 'line' ? `${report.source}:${only!.ref}` : `${report.source}: ${noun} ${only!.ref}`
    return new ModelshipError('BAD_INPUT', `${where}: ${only!.text}`, { hint: HINT })
  }
  const kinds = [
    malformed ? `${malformed} malformed` : '',
    unknownRows ? `${unknownRows} with an unknown label (${unknown.map(([l]) => l).join(', ')})` : '',
    empty ? `${empty.count} with an empty text (dropped)` : '',
  ].filter(Boolean)
  const details = problems.slice(0, LISTED).map((p) => `${noun} ${p.ref}: ${p.text}`)
  const more = total - Math.min(problems.length, LISTED)
  if (more > 0) details.push(`… and ${more} more`)
  details.push(`in all: ${kinds.join('; ')}`)
  const rows = noun === 'line' ? 'lines' : 'rows'
  return new ModelshipError('BAD_INPUT', `${report.source}: ${total} bad ${rows}: ${kinds.join(', ')}`, {
    details: details.join('\n'),
    hint: HINT,
  })
}

const HINT = 'fix these rows in the feedback source (or model.labels in modelship.yaml), then run again'

function refNoun(report: DatasetReport): string {
  return report.refs === 'id' ? 'id' : report.refs === 'row' ? 'row' : 'line'
}

function compareRefs(a: RowRef, b: RowRef): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
}

/**
 * The known label an unknown one was probably meant to be: the same ignoring case, `-`/`_`/spaces, or
 * within an edit distance of 2 (a third of its length for short labels); undefined when none is close.
 */
export function closestLabel(label: string, known: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[\s_-]+/g, '_')
  const target = norm(label)
  let best: string | undefined
  let bestDistance = Infinity
  for (const k of known) {
    const d = norm(k) === target ? 0 : editDistance(target, norm(k))
    if (d < bestDistance) {
      best = k
      bestDistance = d
    }
  }
  const limit = Math.min(2, Math.max(1, Math.floor(target.length / 3)))
  return bestDistance <= limit ? best : undefined
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[b.length]!
}
