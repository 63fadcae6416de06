import { describe, expect, it } from 'vitest'
import {
  labelsOfModelConfig,
  metricsProblem,
  parseClassificationReport,
  parseMetricsJson,
} from '../pipeline/model/metrics.js'
import { thresholdFailures } from '../pipeline/model/gates.js'

const REPORT = `
                        precision    recall  f1-score   support

              chitchat       0.98      1.00      0.99        50
theoretical_definition       0.91      0.88      0.89        48
            calculator       0.95      0.97      0.96        61

              accuracy                           0.95       159
             macro avg       0.95      0.95      0.95       159
          weighted avg       0.95      0.95      0.95       159
`

describe('metrics', () => {
  it('reads a scikit-learn classification_report', () => {
    const m = parseClassificationReport(REPORT, ['chitchat', 'theoretical_definition', 'calculator'])!
    expect(m.accuracy).toBe(0.95)
    expect(m.f1_macro).toBe(0.95)
    expect(m.per_class.theoretical_definition).toEqual({ precision: 0.91, recall: 0.88, f1: 0.89, support: 48 })
    expect(parseClassificationReport('epoch 1/5 loss=0.3', ['chitchat'])).toBeUndefined()
  })

  it('checks the metrics.json shape', () => {
    expect(metricsProblem({ accuracy: 0.9, f1_macro: 0.8, per_class: { a: { f1: 0.8 } } })).toBeUndefined()
    expect(metricsProblem({ accuracy: 1.2, f1_macro: 0.8, per_class: {} })).toBe(
      '"accuracy" must be a number from 0 to 1',
    )
    expect(metricsProblem([])).toBe('"accuracy" must be a number from 0 to 1')
  })

  it('a confusion matrix is optional (older metrics.json files still read) and, when present, square and whole', () => {
    const base = { accuracy: 0.75, f1_macro: 0.7, per_class: { a: { f1: 0.8 }, b: { f1: 0.6 } } }
    const matrix = {
      labels: ['a', 'b'],
      counts: [
        [2, 1],
        [0, 1],
      ],
    }
    expect(parseMetricsJson(JSON.stringify({ ...base, confusion_matrix: matrix }))).toEqual({
      ok: true,
      metrics: { ...base, confusion_matrix: matrix },
    })
    expect(metricsProblem(base)).toBeUndefined()
    const problem = (confusion_matrix: unknown) => metricsProblem({ ...base, confusion_matrix })
    expect(problem({ labels: ['a', 'b'], counts: [[2, 1]] })).toBe(
      'confusion_matrix.counts must have one row per label (2)',
    )
    expect(problem({ labels: ['a', 'b'], counts: [[2, 1], [0]] })).toBe(
      'confusion_matrix.counts[1] must have one count per label (2)',
    )
    expect(
      problem({
        labels: ['a', 'b'],
        counts: [
          [2, 1],
          [0, -1],
        ],
      }),
    ).toBe('confusion_matrix.counts[1] must hold whole numbers')
    expect(
      problem({
        labels: ['a', 'b'],
        counts: [
          [2, 1.5],
          [0, 1],
        ],
      }),
    ).toBe('confusion_matrix.counts[0] must hold whole numbers')
    expect(
      problem({
        labels: ['a', 'a'],
        counts: [
          [2, 1],
          [0, 1],
        ],
      }),
    ).toBe('confusion_matrix.labels must not repeat a label')
    expect(problem('a,b')).toBe('"confusion_matrix" must be an object')
    expect(
      metricsProblem({
        ...base,
        eval_set: { sha256: 'x', accuracy: 0.5, confusion_matrix: { labels: [], counts: [] } },
      }),
    ).toBe('eval_set.confusion_matrix.labels must be a list of label names')
  })

  it('gates name the metric, its value and the bound', () => {
    const m = parseClassificationReport(REPORT, ['chitchat', 'theoretical_definition', 'calculator'])!
    const gates = { min_accuracy: 0.96, min_class_f1: 0.9, no_regression: true, min_per_label: 1, eval_set: null }
    expect(
      thresholdFailures(m, gates, ['chitchat', 'theoretical_definition', 'calculator', 'normative_reference']),
    ).toEqual([
      { metric: 'accuracy', value: 0.95, bound: 0.96, rule: 'gates.min_accuracy' },
      { metric: 'f1[theoretical_definition]', value: 0.89, bound: 0.9, rule: 'gates.min_class_f1' },
      { metric: 'f1[normative_reference]', value: 0, bound: 0.9, rule: 'gates.min_class_f1' },
    ])
  })
})

describe('model files', () => {
  it('parseMetricsJson says what is wrong: bad JSON or the wrong shape', () => {
    expect(parseMetricsJson('{"accuracy":0.9,"f1_macro":0.8,"per_class":{}}')).toEqual({
      ok: true,
      metrics: { accuracy: 0.9, f1_macro: 0.8, per_class: {} },
    })
    expect(parseMetricsJson('{"accuracy":')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^not valid JSON \(/),
    })
    expect(parseMetricsJson('{"accuracy":"high"}')).toEqual({
      ok: false,
      problem: '"accuracy" must be a number from 0 to 1',
    })
  })

  it('labelsOfModelConfig reads id2label in id order (10 after 9)', () => {
    const id2label = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [String(10 - i), `l${10 - i}`]))
    expect(labelsOfModelConfig(JSON.stringify({ id2label }))).toEqual(Array.from({ length: 11 }, (_, i) => `l${i}`))
    expect(labelsOfModelConfig('{}')).toBeUndefined()
    expect(labelsOfModelConfig('not json')).toBeUndefined()
  })
})
