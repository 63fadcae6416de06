import { ModelshipError } from '../pipeline/engine/errors.js'
import { parseMetricsJson, type TrainingMetrics } from '../pipeline/model/metrics.js'
import { resolveModelRef } from '../pipeline/model/model-ref.js'
import { describePictures, matrixTotal, PICTURE_FILES, type CardPictures } from '../pipeline/pictures/card-pictures.js'
import { readLineMetrics } from '../pipeline/pictures/line-metrics.js'
import { assertValidModelRef, compareVersions, formatVersion } from '../pipeline/registry/version.js'
import { alignColumns } from './list.js'
import { openWorkspace } from './workspace.js'

// `modelship show <model-id>`: a version's card in the terminal: its numbers, the confusion matrix as an
// aligned table, the trend of the line up to it, and where its pictures are. `--json` prints the same data.

export interface ShownModel {
  id: string
  version: string
  private: boolean
  registry: string
  /** null when the version came without a metrics.json (or one that does not parse: `metricsProblem`). */
  metrics: Omit<TrainingMetrics, 'confusion_matrix' | 'eval_set'> | null
  metricsProblem?: string
  confusion_matrix: { labels: string[]; counts: number[][]; total: number } | null
  /** Why there is no matrix, in the card's words. */
  noMatrix?: string
  eval_set: TrainingMetrics['eval_set'] | null
  /** The version compared with per class (the one before it in the line), when it has metrics. */
  previous: { id: string; version: string } | null
  per_class_f1: CardPictures['perClass']
  trend: CardPictures['trend']
  /** Each picture's place: a path in the local registry or its page on the Hub; null when the version has none. */
  pictures: Record<string, string | null>
}

const score = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : n.toFixed(4))

export async function showCommand(ref: string, flags: { workspace?: string; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const { registry, config } = ws.deps
  const { org, prefix, base_aliases } = config.model
  const modelId = resolveModelRef(ref, { org, prefix, baseAliases: base_aliases })
  if (base_aliases.includes(modelId))
    throw new ModelshipError('BAD_INPUT', `show: ${modelId} is a base alias, not a model in the registry`, {
      hint: '`modelship list` shows the versions there are',
    })
  assertValidModelRef(modelId, [], 'show <model-id>')
  const model = await registry.getModel(modelId)
  if (!model)
    throw new ModelshipError('BAD_INPUT', `show: ${modelId} is not in ${registry.describe()}`, {
      hint: '`modelship list` shows the versions there are',
    })
  const [metricsText, manifest, line] = await Promise.all([
    registry.readFile(modelId, 'metrics.json'),
    registry.readManifest(modelId),
    readLineMetrics(registry),
  ])
  const parsed = metricsText === undefined ? undefined : parseMetricsJson(metricsText)
  const metrics = parsed?.ok ? parsed.metrics : undefined
  const earlier = line.filter((v) => compareVersions(v.version, model.version) < 0).at(-1)
  const pictures = describePictures({
    modelId,
    version: model.version,
    metrics,
    labels: metrics ? Object.keys(metrics.per_class) : config.model.labels,
    line,
    replaces: earlier?.id ?? null,
  })
  const { confusion_matrix: _matrix, eval_set, ...scores } = metrics ?? {}
  const shown: ShownModel = {
    id: modelId,
    version: formatVersion(model.version),
    private: model.private,
    registry: registry.describe(),
    metrics: metrics ? (scores as ShownModel['metrics']) : null,
    ...(parsed && !parsed.ok ? { metricsProblem: parsed.problem } : {}),
    confusion_matrix: pictures.matrix ? { ...pictures.matrix, total: matrixTotal(pictures.matrix) } : null,
    ...(pictures.noMatrix ? { noMatrix: pictures.noMatrix } : {}),
    eval_set: eval_set ?? null,
    previous: pictures.previous ?? null,
    per_class_f1: pictures.perClass,
    trend: pictures.trend,
    pictures: Object.fromEntries(
      Object.values(PICTURE_FILES).map((f) => [f, manifest?.[f] ? registry.locate(modelId, f) : null]),
    ),
  }
  if (flags.json) ws.printJson(shown)
  else for (const l of showLines(shown)) ws.print(l)
  return 0
}

/** The human form of `show`: plain lines, tables aligned. */
export function showLines(s: ShownModel): string[] {
  const out = [`${s.id} (${s.version}${s.private ? ', private' : ', PUBLIC'}) in ${s.registry}`]
  const m = s.metrics
  if (!m) out.push(`metrics: none (${s.metricsProblem ?? 'no metrics.json'})`)
  else {
    const sizes = [
      m.n_test !== undefined ? `${m.n_test} examples` : '',
      m.n_train !== undefined ? `${m.n_train} trained on` : '',
    ]
      .filter(Boolean)
      .join(', ')
    const from = m.source ? `, from the ${m.source}` : ''
    out.push(
      `accuracy ${score(m.accuracy)}  macro F1 ${score(m.f1_macro)}  (held-out ` +
        `split${sizes ? `, ${sizes}` : ''}${from})`,
    )
  }
  if (s.eval_set)
    out.push(
      `eval set ${s.eval_set.name} (${s.eval_set.rows} rows): accuracy ${score(s.eval_set.accuracy)}  macro F1 ` +
        `${score(s.eval_set.f1_macro)}`,
    )
  if (m) {
    out.push('')
    const prev = s.previous
    const header = ['LABEL', 'PRECISION', 'RECALL', 'F1', 'SUPPORT', ...(prev ? [`F1 ${prev.version}`] : [])]
    const rows = Object.entries(m.per_class).map(([label, c]) => [
      label,
      score(c.precision),
      score(c.recall),
      score(c.f1),
      c.support === undefined ? '-' : String(c.support),
      ...(prev ? [score(s.per_class_f1.find((p) => p.label === label)?.previous)] : []),
    ])
    out.push(...alignColumns([header, ...rows]))
  }
  out.push('')
  const cm = s.confusion_matrix
  if (cm) {
    out.push(`confusion matrix, held-out split (${cm.total} examples; rows: true label, columns: predicted):`)
    const table = [
      ['true \\ predicted', ...cm.labels, 'total'],
      ...cm.labels.map((label, i) => {
        const row = cm.counts[i] ?? []
        return [label, ...row.map(String), String(row.reduce((a, b) => a + b, 0))]
      }),
    ]
    out.push(...alignRight(table).map((l) => `  ${l}`))
  } else out.push(`confusion matrix: none (${s.noMatrix ?? 'no metrics.json'})`)
  out.push('', 'trend (every version up to this one):')
  out.push(
    ...alignColumns([
      ['VERSION', 'ACCURACY', 'MACRO-F1', ''],
      ...s.trend.map((t) => [
        t.version,
        score(t.accuracy),
        score(t.f1_macro),
        t.current ? '<- this version' : (t.problem ?? ''),
      ]),
    ]).map((l) => `  ${l}`),
  )
  out.push('', 'pictures:')
  for (const [file, where] of Object.entries(s.pictures))
    out.push(`  ${file}  ${where ?? '(not in this version: it was pushed without pictures)'}`)
  return out
}

/** Columns padded to one width each: the first (labels) left-aligned, the counts right-aligned. */
function alignRight(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return rows.map((r) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  )
}
