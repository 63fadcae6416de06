import { describe, expect, it } from 'vitest'
import type { TrainingMetrics } from '../pipeline/model/metrics.js'
import { describePictures, renderPictureFiles } from '../pipeline/pictures/card-pictures.js'
import { picturesMarkdown } from '../pipeline/pictures/card-sections.js'
import { trendMermaid } from '../pipeline/pictures/mermaid.js'
import { sparkline } from '../pipeline/pictures/sparkline.js'
import { lookAtSvg, rendererAvailable } from './support/look-at-svg.js'

const LABELS = ['chitchat', 'theoretical_definition', 'technical_research', 'calculator', 'normative_reference']
const COUNTS = [
  [60, 1, 0, 0, 0],
  [2, 55, 5, 0, 3],
  [0, 4, 58, 1, 2],
  [0, 0, 1, 64, 0],
  [0, 2, 3, 0, 60],
]
const n = COUNTS.flat().reduce((a, b) => a + b, 0)
const metrics = (f1: (i: number) => number, accuracy: number, matrix = true): TrainingMetrics => ({
  accuracy,
  f1_macro: LABELS.reduce((s, _, i) => s + f1(i), 0) / LABELS.length,
  per_class: Object.fromEntries(LABELS.map((l, i) => [l, { f1: f1(i), support: COUNTS[i]!.reduce((a, b) => a + b) }])),
  ...(matrix ? { confusion_matrix: { labels: LABELS, counts: COUNTS } } : {}),
})
const V10 = { id: 'acme/ic-v1.0', version: { major: 1, minor: 0 }, metrics: metrics((i) => 0.8 + i * 0.01, 0.81) }
const V11 = metrics((i) => 0.95 - i * 0.02, 297 / n)

const render = rendererAvailable()

/** How often each string occurs. */
const tally = (items: readonly string[]): Map<string, number> => {
  const m = new Map<string, number>()
  for (const s of items) m.set(s, (m.get(s) ?? 0) + 1)
  return m
}

describe('the pictures of a model card, looked at', () => {
  it(
    'each SVG is valid XML with its numbers as text; rsvg-convert draws a PNG of its size that is not ' + 'blank',
    async () => {
      const pictures = describePictures({
        modelId: 'acme/ic-v1.1',
        version: { major: 1, minor: 1 },
        metrics: V11,
        labels: LABELS,
        line: [V10, { id: 'acme/ic-v1.2', version: { major: 1, minor: 2 }, metrics: V10.metrics }],
        replaces: 'acme/ic-v1.0',
      })
      // A later version is not in this card's trend: pushing this card again draws the same picture.
      expect(pictures.trend.map((t) => [t.version, t.current])).toEqual([
        ['v1.0', false],
        ['v1.1', true],
      ])
      const files = await renderPictureFiles(pictures)
      expect(files.map((f) => f.path)).toEqual(['confusion_matrix.svg', 'per_class_f1.svg', 'trend.svg'])
      const looked = Object.fromEntries(files.map((f) => [f.path, lookAtSvg(f.content, render)]))

      // Every count of the matrix is a text in the picture (as often as it occurs), the labels too.
      const matrixTexts = tally(looked['confusion_matrix.svg']!.texts)
      for (const [count, times] of tally(COUNTS.flat().map(String)))
        expect(matrixTexts.get(count) ?? 0, `count ${count}`).toBeGreaterThanOrEqual(times)
      for (const label of LABELS) expect(matrixTexts.get(label)).toBe(2) // once down the side, once across the top
      expect(looked['confusion_matrix.svg']!.texts.join(' ')).toContain(`held-out split (${n} examples)`)

      const f1Texts = looked['per_class_f1.svg']!.texts
      for (const c of Object.values(V11.per_class)) expect(f1Texts).toContain(c.f1.toFixed(4))
      for (const c of Object.values(V10.metrics.per_class)) expect(f1Texts).toContain(c.f1.toFixed(4))
      expect(f1Texts).toEqual(expect.arrayContaining(['v1.1 (this version)', 'v1.0 (replaced)']))

      const trendTexts = looked['trend.svg']!.texts
      expect(trendTexts).toEqual(expect.arrayContaining(['v1.0', 'v1.1', 'accuracy', 'macro F1']))
      for (const v of [V10.metrics.accuracy, V10.metrics.f1_macro, V11.accuracy, V11.f1_macro])
        expect(trendTexts).toContain(v.toFixed(4))

      // The same chart is the same bytes (a resumed push finds the repo holding exactly what it would send).
      expect((await renderPictureFiles(pictures)).map((f) => f.content)).toEqual(files.map((f) => f.content))

      if (!render) return
      for (const [path, l] of Object.entries(looked)) {
        expect(l.width, path).toBeGreaterThan(200)
        expect(l.png, path).toMatchObject({ width: Math.ceil(l.width), height: Math.ceil(l.height) })
        // Not blank: a good share of the page has ink, in more than a couple of colours (shading, bars, lines).
        expect(l.png!.inkShare, path).toBeGreaterThan(0.03)
        expect(l.png!.colours, path).toBeGreaterThan(20)
      }
      // The matrix is mostly shaded cells; a PNG of only the axis text would have far less ink.
      expect(looked['confusion_matrix.svg']!.png!.inkShare).toBeGreaterThan(0.25)
    },
  )

  it('a model with no matrix gets a picture that says so, never an invented one; the card says so too', async () => {
    const pictures = describePictures({
      modelId: 'acme/ic-v1.0',
      version: { major: 1, minor: 0 },
      metrics: { ...metrics((i) => 0.9 - i * 0.01, 0.9, false), source: 'classification_report' },
      labels: LABELS,
      line: [],
    })
    expect(pictures.matrix).toBeUndefined()
    const [matrix] = await renderPictureFiles(pictures)
    const looked = lookAtSvg(matrix!.content, render)
    expect(looked.texts.join(' ')).toMatch(/printed only a classification report/)
    expect(looked.texts.filter((t) => /^\d+$/.test(t))).toEqual([])
    const card = picturesMarkdown(pictures).join('\n')
    expect(card).toContain('No confusion matrix: the trainer printed only a classification report')
    expect(card).not.toContain('| true \\ predicted |')
    if (render) expect(looked.png!.inkShare).toBeGreaterThan(0.005)
  })

  it('the card: each picture by relative path with alt text, and the same numbers in a table under it', () => {
    const pictures = describePictures({
      modelId: 'acme/ic-v1.1',
      version: { major: 1, minor: 1 },
      metrics: V11,
      labels: LABELS,
      line: [V10],
      replaces: 'acme/ic-v1.0',
    })
    const card = picturesMarkdown(pictures)
    const text = card.join('\n')
    for (const file of ['confusion_matrix.svg', 'per_class_f1.svg', 'trend.svg'])
      expect(text).toMatch(new RegExp(`!\\[[^\\]]{20,}\\]\\(${file.replace('.', '\\.')}\\)`))
    const at = card.indexOf(
      '| true \\ predicted | chitchat | theoretical_definition | technical_research | calculator | ' +
        'normative_reference | total |',
    )
    expect(at).toBeGreaterThan(0)
    expect(card[at + 2]).toBe('| chitchat | **60** | 1 | 0 | 0 | 0 | 61 |')
    expect(card[at + 7]).toBe(`| total | 62 | 62 | 67 | 65 | 65 | ${n} |`)
    expect(text).toContain(`| chitchat | 0.9500 | 0.8000 | +0.1500 |`)
    expect(text).toContain(`| v1.0 | 0.8100 | ${V10.metrics.f1_macro.toFixed(4)} |  |`)
    expect(text).toContain(`| v1.1 | ${V11.accuracy.toFixed(4)} | ${V11.f1_macro.toFixed(4)} | this version |`)
  })

  it('CI summary and terminal: the trend as a Mermaid xychart, a sparkline on one scale', () => {
    const trend = [
      { id: 'a/x-v1.0', version: 'v1.0', accuracy: 0.81, f1_macro: 0.8, current: false },
      { id: 'a/x-v1.1', version: 'v1.1', accuracy: null, f1_macro: null, current: false, problem: 'no metrics.json' },
      { id: 'a/x-v1.2', version: 'v1.2', accuracy: 0.92, f1_macro: 0.915, current: true },
    ]
    expect(trendMermaid(trend, 'Accuracy "and" F1')).toEqual([
      '```mermaid',
      'xychart-beta',
      `    title "Accuracy 'and' F1"`,
      '    x-axis ["v1.0", "v1.2 (this)"]',
      '    y-axis "score" 0.75 --> 1',
      '    line [0.8100, 0.9200]',
      '    line [0.8000, 0.9150]',
      '```',
    ])
    expect(trendMermaid([trend[1]!], 't')).toBeUndefined()
    expect(sparkline([0.8, null, 0.9, 1])).toBe('▁·▅█')
    expect(sparkline([0.9], { min: 0.8, max: 1 })).toBe('▅')
    expect(sparkline([0.9, 0.9])).toBe('▄▄')
  })
})
