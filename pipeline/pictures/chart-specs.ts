import type { TopLevelSpec } from 'vega-lite'
import type { ConfusionMatrix } from '../model/metrics.js'

// The three pictures of a model card as Vega-Lite specs: pure data in, spec out (rendered by render-svg.ts).
// Every number drawn is also a text mark, so the SVG carries it as text (a reader with a screen reader, a
// test, or a search can find it), and the card prints the same numbers as a table under each picture.

/** One version's scores, for the trend. */
export interface TrendPoint {
  /** `v1.3` */
  version: string
  accuracy: number
  f1_macro: number
  /** The version this card is for. */
  current: boolean
}

/** One label's F1 in one version, for the per-class chart. */
export interface ClassF1 {
  label: string
  /** `v1.3 (this)` or `v1.2 (replaced)`: the legend says which is which. */
  series: string
  f1: number
}

const FONT = 'DejaVu Sans, Verdana, Arial, sans-serif'
const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 12,
  view: { stroke: null },
  axis: { labelFontSize: 12, titleFontSize: 13, labelLimit: 260 },
  legend: { labelFontSize: 12, titleFontSize: 12, labelLimit: 260 },
  title: { fontSize: 15, anchor: 'start' },
} as const

const fixed = (n: number, digits: number): number => Number(n.toFixed(digits))

/**
 * Counts with row-normalised shading (each true label's row sums to 100 %), the diagonal outlined: a tinted
 * cell off the diagonal is a confusion to look at. The true label is on the left, the prediction on top.
 */
export function confusionMatrixSpec(matrix: ConfusionMatrix, title: string): TopLevelSpec {
  const cells = matrix.labels.flatMap((trueLabel, i) => {
    const row = matrix.counts[i] ?? []
    const total = row.reduce((a, b) => a + b, 0)
    return matrix.labels.map((predicted, j) => ({
      true: trueLabel,
      predicted,
      count: row[j] ?? 0,
      share: total ? fixed((row[j] ?? 0) / total, 4) : 0,
      diagonal: i === j,
    }))
  })
  const order = [...matrix.labels]
  const side = Math.max(48, Math.min(84, Math.floor(520 / order.length)))
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'counts; shading = share of the true label (row)' },
    data: { values: cells },
    width: side * order.length,
    height: side * order.length,
    encoding: {
      x: {
        field: 'predicted',
        type: 'nominal',
        sort: order,
        title: 'predicted label',
        axis: { orient: 'top', labelAngle: -30, labelAlign: 'left', domain: false, ticks: false },
      },
      y: { field: 'true', type: 'nominal', sort: order, title: 'true label', axis: { domain: false, ticks: false } },
    },
    layer: [
      {
        mark: { type: 'rect' },
        encoding: {
          color: {
            field: 'share',
            type: 'quantitative',
            // Square-root shading: a confusion of a few examples in sixty is still a visible tint, not white.
            scale: { type: 'sqrt', domain: [0, 1], range: ['#ffffff', '#08519c'], interpolate: 'rgb' },
            legend: { title: 'share of row', format: '.0%', values: [0, 0.1, 0.25, 0.5, 1] },
          },
          stroke: { condition: { test: 'datum.diagonal', value: '#d94801' }, value: '#d0d7de' },
          strokeWidth: { condition: { test: 'datum.diagonal', value: 3 }, value: 1 },
        },
      },
      {
        mark: { type: 'text', fontSize: 14, fontWeight: 'bold' },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.3', value: 'white' }, value: '#08306b' },
        },
      },
    ],
    config: CONFIG,
  }
}

/** A picture that says why there is none: no invented matrix is ever drawn. */
export function noticeSpec(title: string, lines: readonly string[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: lines.map((text, i) => ({ text, i })) },
    width: 520,
    height: 22 * lines.length,
    mark: { type: 'text', align: 'left', baseline: 'top', fontSize: 13, color: '#444444' },
    encoding: {
      text: { field: 'text', type: 'nominal' },
      y: { field: 'i', type: 'ordinal', axis: null },
      x: { value: 0 },
    },
    config: CONFIG,
  }
}

/** Each label's F1, this version beside the one it replaces (when there is one), the value at each bar's end. */
export function perClassF1Spec(rows: readonly ClassF1[], labels: readonly string[], title: string): TopLevelSpec {
  const series = [...new Set(rows.map((r) => r.series))]
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: rows.map((r) => ({ ...r, f1: fixed(r.f1, 4) })) },
    width: 420,
    height: { step: 18 },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: [...labels], title: null },
      yOffset: { field: 'series', type: 'nominal', sort: series },
      x: {
        field: 'f1',
        type: 'quantitative',
        scale: { domain: [0, 1.12] },
        title: 'F1',
        axis: { values: [0, 0.25, 0.5, 0.75, 1], format: '.2f' },
      },
      color: {
        field: 'series',
        type: 'nominal',
        sort: series,
        scale: { domain: series, range: ['#2171b5', '#bdbdbd'].slice(0, series.length) },
        legend: { title: null, orient: 'bottom' },
      },
    },
    layer: [
      { mark: { type: 'bar', height: { band: 0.9 } } },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 },
        encoding: { text: { field: 'f1', type: 'quantitative', format: '.4f' }, color: { value: '#222222' } },
      },
    ],
    config: CONFIG,
  }
}

/** Accuracy and macro F1 of every version of the model line, oldest first; this card's version is marked. */
export function trendSpec(points: readonly TrendPoint[], title: string): TopLevelSpec {
  const versions = points.map((p) => p.version)
  const values = points.flatMap((p) => [
    { version: p.version, metric: 'accuracy', value: fixed(p.accuracy, 4), current: p.current },
    { version: p.version, metric: 'macro F1', value: fixed(p.f1_macro, 4), current: p.current },
  ])
  const low = Math.min(...values.map((v) => v.value))
  const floor = Math.max(0, Math.floor((low - 0.05) * 20) / 20)
  const marked = points.find((p) => p.current)?.version
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: Math.max(260, 90 * points.length),
    height: 240,
    encoding: {
      x: { field: 'version', type: 'ordinal', sort: versions, title: 'version', axis: { labelAngle: 0 } },
    },
    layer: [
      ...(marked
        ? [
            {
              data: { values: [{ version: marked, note: 'this version' }] },
              layer: [
                { mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#999999', strokeWidth: 2 } },
                {
                  mark: { type: 'text' as const, y: -6, fontSize: 11, color: '#555555' },
                  encoding: { text: { field: 'note', type: 'nominal' as const } },
                },
              ],
            },
          ]
        : []),
      {
        data: { values },
        encoding: {
          y: { field: 'value', type: 'quantitative', scale: { domain: [floor, 1] }, title: 'score' },
          color: {
            field: 'metric',
            type: 'nominal',
            scale: { domain: ['accuracy', 'macro F1'], range: ['#2171b5', '#d94801'] },
            legend: { title: null, orient: 'bottom' },
          },
        },
        layer: [
          { mark: { type: 'line', point: { filled: true, size: 60 } } },
          // Accuracy's numbers above its points, macro F1's below: two close lines keep readable labels.
          {
            transform: [{ filter: "datum.metric === 'accuracy'" }],
            mark: { type: 'text', dy: -11, fontSize: 11 },
            encoding: { text: { field: 'value', type: 'quantitative', format: '.4f' } },
          },
          {
            transform: [{ filter: "datum.metric !== 'accuracy'" }],
            mark: { type: 'text', dy: 15, fontSize: 11 },
            encoding: { text: { field: 'value', type: 'quantitative', format: '.4f' } },
          },
        ],
      },
    ],
    config: CONFIG,
  }
}
