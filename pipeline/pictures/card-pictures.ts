import type { ConfusionMatrix, TrainingMetrics } from '../model/metrics.js'
import { compareVersions, formatVersion } from '../registry/version.js'
import { confusionMatrixSpec, noticeSpec, perClassF1Spec, trendSpec, type ClassF1 } from './chart-specs.js'
import type { LineVersion } from './line-metrics.js'

// What the three pictures of a model card show, as data: the card's tables, the SVGs, the CI summary and
// `modelship show` all print these same numbers.

/** The files beside README.md (names fixed by the contract). */
export const PICTURE_FILES = {
  confusionMatrix: 'confusion_matrix.svg',
  perClassF1: 'per_class_f1.svg',
  trend: 'trend.svg',
} as const

export interface TrendRow {
  id: string
  version: string
  accuracy: number | null
  f1_macro: number | null
  /** The version the card is for. */
  current: boolean
  /** Why a version has no numbers (no metrics.json): listed, not drawn. */
  problem?: string
}

export interface CardPictures {
  /** `v1.3` */
  version: string
  /** The held-out split's matrix, when the trainer wrote one; otherwise `noMatrix` says why there is none. */
  matrix?: ConfusionMatrix
  noMatrix?: string
  /** The version this one replaces, when the registry holds its metrics. */
  previous?: { id: string; version: string }
  perClass: Array<{ label: string; f1: number | null; previous: number | null }>
  /** Every version of the model line up to this one, oldest first. */
  trend: TrendRow[]
}

/** Why a model has no confusion matrix, in words for the place the picture would be. */
export function whyNoMatrix(metrics: TrainingMetrics | undefined): string {
  if (!metrics) return 'no metrics.json was pushed with this model: there are no predictions to count'
  if (metrics.source === 'classification_report')
    return (
      'the trainer printed only a classification report (scores, not the predictions behind them), so there is ' +
      'no confusion matrix; none is drawn'
    )
  return "the trainer's metrics.json holds no confusion_matrix, so none is drawn"
}

/** The pictures' data for one version, from its own metrics and the registry's metrics.json of the line. */
export function describePictures(o: {
  modelId: string
  version: { major: number; minor: number }
  /** undefined when the model came without metrics (a manual push of a bare folder). */
  metrics: TrainingMetrics | undefined
  labels: readonly string[]
  line: readonly LineVersion[]
  /** The model this version replaces (the environment's current model); a base alias or an unknown id has none. */
  replaces?: string | null
}): CardPictures {
  const { metrics } = o
  // Versions up to this one: a card pushed again (a resumed push, the same folder) draws the same trend, whatever
  // was released after it.
  const others = o.line.filter((v) => v.id !== o.modelId && compareVersions(v.version, o.version) < 0)
  const previousVersion = others.find((v) => v.id === o.replaces && v.metrics)
  const trend: TrendRow[] = [
    ...others.map((v) => ({
      id: v.id,
      version: formatVersion(v.version),
      accuracy: v.metrics?.accuracy ?? null,
      f1_macro: v.metrics?.f1_macro ?? null,
      current: false,
      ...(v.problem ? { problem: v.problem } : {}),
      order: v.version,
    })),
    {
      id: o.modelId,
      version: formatVersion(o.version),
      accuracy: metrics?.accuracy ?? null,
      f1_macro: metrics?.f1_macro ?? null,
      current: true,
      ...(metrics ? {} : { problem: 'no metrics.json' }),
      order: o.version,
    },
  ]
    .sort((a, b) => a.order.major - b.order.major || a.order.minor - b.order.minor)
    .map(({ order: _order, ...row }) => row)
  const labels = metrics?.confusion_matrix?.labels ?? [...o.labels]
  const perClass = labels.map((label) => ({
    label,
    f1: metrics?.per_class[label]?.f1 ?? null,
    previous: previousVersion?.metrics?.per_class[label]?.f1 ?? null,
  }))
  return {
    version: formatVersion(o.version),
    ...(metrics?.confusion_matrix ? { matrix: metrics.confusion_matrix } : { noMatrix: whyNoMatrix(metrics) }),
    ...(previousVersion
      ? { previous: { id: previousVersion.id, version: formatVersion(previousVersion.version) } }
      : {}),
    perClass,
    trend,
  }
}

/** The SVG files of a card: the same three names always, a notice in place of a picture that has no data. */
export async function renderPictureFiles(p: CardPictures): Promise<Array<{ path: string; content: string }>> {
  const { renderSvg } = await import('./render-svg.js')
  const matrix = p.matrix
    ? confusionMatrixSpec(
        p.matrix,
        `${p.version}: confusion matrix, held-out split (${matrixTotal(p.matrix)} examples)`,
      )
    : noticeSpec(`${p.version}: no confusion matrix`, wrap(p.noMatrix ?? '', 70))
  const series = { current: `${p.version} (this version)`, previous: `${p.previous?.version ?? ''} (replaced)` }
  const bars: ClassF1[] = p.perClass.flatMap((c) => [
    ...(c.f1 === null ? [] : [{ label: c.label, series: series.current, f1: c.f1 }]),
    ...(c.previous === null || !p.previous ? [] : [{ label: c.label, series: series.previous, f1: c.previous }]),
  ])
  const perClass = bars.length
    ? perClassF1Spec(
        bars,
        p.perClass.map((c) => c.label),
        p.previous ? `F1 per class: ${p.version} beside ${p.previous.version}` : `F1 per class: ${p.version}`,
      )
    : noticeSpec(`${p.version}: no per-class F1`, ['no metrics.json was pushed with this model'])
  const drawn = p.trend.filter((t) => t.accuracy !== null && t.f1_macro !== null)
  const trend = drawn.length
    ? trendSpec(
        drawn.map((t) => ({ version: t.version, accuracy: t.accuracy!, f1_macro: t.f1_macro!, current: t.current })),
        `Accuracy and macro F1 by version (${p.version} marked)`,
      )
    : noticeSpec('No trend', ['no version of this model line has a metrics.json'])
  return [
    { path: PICTURE_FILES.confusionMatrix, content: await renderSvg(matrix) },
    { path: PICTURE_FILES.perClassF1, content: await renderSvg(perClass) },
    { path: PICTURE_FILES.trend, content: await renderSvg(trend) },
  ]
}

export const matrixTotal = (m: ConfusionMatrix): number => m.counts.flat().reduce((a, b) => a + b, 0)

/** Words into lines of at most `width` characters (a notice's text mark draws one line per datum). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(line)
  return lines
}
