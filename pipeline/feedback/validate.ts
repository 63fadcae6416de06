import { ModelshipError } from '../engine/errors.js'
import { closestLabel } from './problems.js'
import type { DatasetReport } from './types.js'

export interface DatasetRules {
  /** The labels the model is trained on (model.labels). */
  labels: readonly string[]
  /** Fewest examples each label must have (gates.min_per_label). */
  minPerLabel: number
}

export interface DatasetValidation {
  errors: string[]
  warnings: string[]
}

/** Largest/smallest class size above which the dataset is reported as imbalanced. */
export const IMBALANCE_RATIO = 5
const CONFLICT_EXAMPLES = 3
const CONFLICT_TEXT_CHARS = 60

/** Checks a dataset report against the model's labels. Pure: no I/O, never throws. */
export function validateDataset(report: DatasetReport, rules: DatasetRules): DatasetValidation {
  const errors: string[] = []
  const warnings: string[] = []
  const known = new Set(rules.labels)

  if (report.kept === 0) {
    const read =
      report.rowsRead === 0 ? 'no rows' : `no rows left of the ${report.rowsRead} read (${describeDropped(report)})`
    errors.push(`the dataset from ${report.source} has ${read}`)
  }

  const unknown = Object.entries(report.perLabel)
    .filter(([label, count]) => !known.has(label) && count > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
  if (unknown.length > 0) {
    const list = unknown
      .map(([label, count]) => {
        const hint = closestLabel(label, rules.labels)
        return `${label} (${count}${hint ? `; did you mean ${hint}?` : ''})`
      })
      .join(', ')
    errors.push(`unknown labels: ${list} — model.labels is ${rules.labels.join(', ')}`)
  }

  for (const label of rules.labels) {
    const count = report.perLabel[label] ?? 0
    if (count < rules.minPerLabel) {
      errors.push(
        `label ${label} has ${count} example${count === 1 ? '' : 's'}, fewer than the minimum of ` +
          `${rules.minPerLabel} (gates.min_per_label)`,
      )
    }
  }

  const sizes = rules.labels.map((label) => [label, report.perLabel[label] ?? 0] as const).filter(([, n]) => n > 0)
  if (sizes.length >= 2) {
    const largest = sizes.reduce((a, b) => (b[1] > a[1] ? b : a))
    const smallest = sizes.reduce((a, b) => (b[1] < a[1] ? b : a))
    const ratio = largest[1] / smallest[1]
    if (ratio > IMBALANCE_RATIO) {
      warnings.push(
        `class imbalance: ${largest[0]} has ${largest[1]} examples and ${smallest[0]} ${smallest[1]} (ratio ` +
          `${ratio.toFixed(1)}, above ${IMBALANCE_RATIO})`,
      )
    }
  }

  const conflicts = report.conflictCount ?? report.conflicts.length
  if (conflicts > 0) {
    const examples = report.conflicts
      .slice(0, CONFLICT_EXAMPLES)
      .map((c) => `${JSON.stringify(truncate(c.text, CONFLICT_TEXT_CHARS))} (${c.labels.join(', ')})`)
      .join('; ')
    const more = conflicts > CONFLICT_EXAMPLES ? '; …' : ''
    warnings.push(
      `${conflicts} text${conflicts === 1 ? ' has' : 's have'} conflicting labels (all kept): ${examples}${more}`,
    )
  }

  return { errors, warnings }
}

/**
 * Like validateDataset, but throws ModelshipError('BAD_INPUT') with the first error as the message
 * and the others in `details`. Returns the warnings when the dataset is valid.
 */
export function assertValidDataset(report: DatasetReport, rules: DatasetRules): DatasetValidation {
  const result = validateDataset(report, rules)
  const [first, ...rest] = result.errors
  if (first !== undefined) {
    throw new ModelshipError('BAD_INPUT', first, {
      details: rest.length > 0 ? rest.join('\n') : undefined,
      hint: 'fix the labeled data or model.labels / gates.min_per_label in modelship.yaml',
    })
  }
  return result
}

function describeDropped(report: DatasetReport): string {
  const parts = Object.entries(report.dropped)
    .filter(([, d]) => d && d.count > 0)
    .map(([reason, d]) => `${d!.count} ${reason.replace('_', ' ')}`)
  return parts.length > 0 ? `dropped: ${parts.join(', ')}` : 'all dropped'
}

function truncate(text: string, max: number): string {
  const chars = [...text]
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`
}
