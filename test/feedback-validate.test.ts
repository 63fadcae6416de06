import { describe, expect, it } from 'vitest'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { assertValidDataset, validateDataset } from '../pipeline/feedback/index.js'
import type { DatasetReport } from '../pipeline/feedback/types.js'

const labels = ['chitchat', 'theoretical_definition', 'technical_research', 'calculator', 'normative_reference']

function report(perLabel: Record<string, number>, extra: Partial<DatasetReport> = {}): DatasetReport {
  const kept = Object.values(perLabel).reduce((a, b) => a + b, 0)
  return {
    source: '/ws/data/feedback.jsonl',
    rowsRead: kept,
    kept,
    dropped: {},
    perLabel,
    conflicts: [],
    sha256: 'x'.repeat(64),
    ...extra,
  }
}

const balanced = {
  chitchat: 10,
  theoretical_definition: 12,
  technical_research: 9,
  calculator: 11,
  normative_reference: 10,
}

describe('validateDataset', () => {
  it('passes a balanced dataset with known labels', () => {
    expect(validateDataset(report(balanced), { labels, minPerLabel: 5 })).toEqual({ errors: [], warnings: [] })
  })

  it('lists unknown labels with counts, largest first', () => {
    const { errors } = validateDataset(report({ ...balanced, greeting: 1, tax_calc: 3 }), { labels, minPerLabel: 1 })
    expect(errors).toEqual([
      'unknown labels: tax_calc (3), greeting (1) — model.labels is chitchat, theoretical_definition, ' +
        'technical_research, calculator, normative_reference',
    ])
  })

  it('names each label under the minimum, including labels with no examples', () => {
    const { errors } = validateDataset(
      report({ chitchat: 10, theoretical_definition: 2, technical_research: 9, calculator: 11 }),
      { labels, minPerLabel: 3 },
    )
    expect(errors).toEqual([
      'label theoretical_definition has 2 examples, fewer than the minimum of 3 (gates.min_per_label)',
      'label normative_reference has 0 examples, fewer than the minimum of 3 (gates.min_per_label)',
    ])
  })

  it('fails an empty dataset first, saying what was dropped', () => {
    const { errors } = validateDataset(
      report(
        {},
        { rowsRead: 4, dropped: { empty_text: { count: 3, first: [1, 2, 3] }, duplicate: { count: 1, first: [4] } } },
      ),
      { labels, minPerLabel: 1 },
    )
    expect(errors[0]).toBe(
      'the dataset from /ws/data/feedback.jsonl has no rows left of the 4 read (dropped: 3 empty text, 1 duplicate)',
    )
    expect(errors).toHaveLength(1 + labels.length)
    expect(validateDataset(report({}), { labels, minPerLabel: 0 }).errors).toEqual([
      'the dataset from /ws/data/feedback.jsonl has no rows',
    ])
  })

  it('warns on class imbalance with the ratio', () => {
    const { errors, warnings } = validateDataset(report({ ...balanced, technical_research: 61 }), {
      labels,
      minPerLabel: 1,
    })
    expect(errors).toEqual([])
    expect(warnings).toEqual([
      'class imbalance: technical_research has 61 examples and chitchat 10 (ratio 6.1, above 5)',
    ])
    expect(
      validateDataset(report({ ...balanced, technical_research: 50 }), { labels, minPerLabel: 1 }).warnings,
    ).toEqual([])
  })

  it('warns on conflicts with a count and the first texts truncated to 60 characters', () => {
    const long = 'Qual è la differenza tra il regime forfettario e il regime ordinario per un libero professionista?'
    const conflicts = [
      { text: long, labels: ['theoretical_definition', 'normative_reference'] },
      { text: 'Ciao', labels: ['chitchat', 'technical_research'] },
      { text: 'IVA 22% su 100', labels: ['calculator', 'technical_research'] },
      { text: 'four', labels: ['chitchat', 'calculator'] },
    ]
    const { warnings } = validateDataset(report(balanced, { conflicts, conflictCount: 7 }), { labels, minPerLabel: 1 })
    expect(warnings).toHaveLength(1)
    const w = warnings[0]!
    expect(w.startsWith('7 texts have conflicting labels (all kept): ')).toBe(true)
    expect(w).toContain(`"${[...long].slice(0, 59).join('')}…" (theoretical_definition, normative_reference)`)
    expect(w).toContain('"Ciao" (chitchat, technical_research)')
    expect(w).not.toContain('four')
    expect(
      validateDataset(report(balanced, { conflicts: conflicts.slice(0, 1) }), { labels, minPerLabel: 1 }).warnings[0],
    ).toMatch(/^1 text has conflicting labels/)
  })
})

describe('assertValidDataset', () => {
  it('throws BAD_INPUT with the first error as message and the rest as details', () => {
    const bad = report({ chitchat: 10, tax_calc: 3 })
    let caught: unknown
    try {
      assertValidDataset(bad, { labels, minPerLabel: 1 })
    } catch (e) {
      caught = e
    }
    expect(caught).toBeInstanceOf(ModelshipError)
    const e = caught as ModelshipError
    expect(e.code).toBe('BAD_INPUT')
    expect(e.exitCode).toBe(2)
    expect(e.message).toMatch(/^unknown labels: tax_calc \(3\)/)
    expect(e.details?.split('\n')).toEqual([
      'label theoretical_definition has 0 examples, fewer than the minimum of 1 (gates.min_per_label)',
      'label technical_research has 0 examples, fewer than the minimum of 1 (gates.min_per_label)',
      'label calculator has 0 examples, fewer than the minimum of 1 (gates.min_per_label)',
      'label normative_reference has 0 examples, fewer than the minimum of 1 (gates.min_per_label)',
    ])
  })

  it('returns the warnings when valid', () => {
    expect(
      assertValidDataset(report({ ...balanced, chitchat: 100 }), { labels, minPerLabel: 1 }).warnings,
    ).toHaveLength(1)
  })
})
