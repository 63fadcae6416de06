import { stringify } from 'yaml'
import type { EvalSetMetrics, TrainingMetrics } from '../model/metrics.js'
import type { TrainingOrigin } from '../model/training-args.js'
import type { CardPictures } from '../pictures/card-pictures.js'
import { picturesMarkdown } from '../pictures/card-sections.js'

export interface ModelCardInput {
  modelId: string
  /** What the trainer recorded (training_args.json): the card claims nothing beyond it. */
  origin: TrainingOrigin
  labels: readonly string[]
  metrics: TrainingMetrics
  datasetSha256: string
  runId: string
  createdAt: string
  /** `model.license`, when configured. */
  license?: string | null
  /** The new model's scores on gates.eval_set, when the gate used one. */
  evalSet?: EvalSetMetrics
  /** A model pushed by hand may come without metrics.json: the card then says so instead of showing zeros. */
  metricsUnknown?: boolean
  /** The release note (rows per label and metric deltas against the model it replaces), as Markdown. */
  changes?: string
  /** What the pictures beside the card show (confusion matrix, F1 per class, trend): their sections and tables. */
  pictures?: CardPictures
}

/** One sentence on how the model was trained, from what the trainer recorded. */
export function trainingDescription(origin: TrainingOrigin): string {
  if (origin.backend === 'baseline') {
    return (
      'Baseline intent classifier: TF-IDF word and character n-grams with a softmax (logistic) regression, ' +
      "stored as `model.json` by modelship's reference trainer; it is not a Transformers model."
    )
  }
  if (origin.baseModel) {
    const how = origin.backend ? ` (${origin.backend} backend)` : ''
    return `Intent classifier fine-tuned from \`${origin.baseModel}\`${how}.`
  }
  return `Intent classifier${origin.backend ? ` (${origin.backend} backend)` : ''}; the trainer recorded no base model.`
}

const score = (n: number | undefined): string => (n === undefined ? '-' : n.toFixed(4))

/** The README.md pushed with every model: Hugging Face metadata (front matter) plus a human summary. */
export function renderModelCard(input: ModelCardInput): string {
  const { metrics, origin, evalSet } = input
  const transformers =
    origin.backend === 'transformers' || (origin.backend === undefined && origin.baseModel !== undefined)
  const frontMatter = {
    ...(transformers && origin.baseModel ? { base_model: origin.baseModel } : {}),
    ...(transformers ? { library_name: 'transformers' } : {}),
    ...(input.license ? { license: input.license } : {}),
    pipeline_tag: 'text-classification',
    language: ['it'],
    tags: ['intent-classification', 'modelship', ...(origin.backend ? [`backend-${origin.backend}`] : [])],
    ...(input.metricsUnknown
      ? {}
      : {
          'model-index': [
            {
              name: input.modelId,
              results: [
                {
                  task: { type: 'text-classification', name: 'Intent classification' },
                  dataset: { type: 'custom', name: 'QA feedback (held-out split)', revision: input.datasetSha256 },
                  metrics: [
                    { type: 'accuracy', value: metrics.accuracy, name: 'Accuracy' },
                    { type: 'f1', value: metrics.f1_macro, name: 'Macro F1', args: { average: 'macro' } },
                  ],
                },
                ...(evalSet
                  ? [
                      {
                        task: { type: 'text-classification', name: 'Intent classification' },
                        dataset: { type: 'custom', name: evalSet.name, revision: evalSet.sha256 },
                        metrics: [
                          { type: 'accuracy', value: evalSet.accuracy, name: 'Accuracy' },
                          { type: 'f1', value: evalSet.f1_macro, name: 'Macro F1', args: { average: 'macro' } },
                        ],
                      },
                    ]
                  : []),
              ],
            },
          ],
        }),
    modelship: {
      labels: [...input.labels],
      dataset_sha256: input.datasetSha256,
      ...(origin.backend ? { backend: origin.backend } : {}),
      ...(evalSet ? { eval_set: { name: evalSet.name, rows: evalSet.rows, sha256: evalSet.sha256 } } : {}),
      ...(metrics.source ? { metrics_source: metrics.source } : {}),
      run_id: input.runId,
      created_at: input.createdAt,
    },
  }
  const rows = Object.entries(metrics.per_class).map(
    ([label, m]) => `| ${label} | ${score(m.precision)} | ${score(m.recall)} | ${score(m.f1)} | ${m.support ?? '-'} |`,
  )
  const evalRows = evalSet
    ? [
        '',
        `Evaluation set \`${evalSet.name}\` (${evalSet.rows} rows, sha256 \`${evalSet.sha256}\`, never trained on): ` +
          `accuracy ${score(evalSet.accuracy)} · macro F1 ${score(evalSet.f1_macro)}`,
      ]
    : []
  return [
    '---',
    stringify(frontMatter).trimEnd(),
    '---',
    '',
    `# ${input.modelId}`,
    '',
    `${trainingDescription(origin)} Released by modelship (run \`${input.runId}\`).`,
    '',
    `- Labels: ${input.labels.map((l) => `\`${l}\``).join(', ')}`,
    `- Dataset sha256: \`${input.datasetSha256}\``,
    input.metricsUnknown
      ? '- Metrics: not provided (no metrics.json)'
      : `- Accuracy: ${score(metrics.accuracy)} · Macro F1: ${score(metrics.f1_macro)} (held-out ` +
        `split${metrics.source ? `, from the ${metrics.source}` : ''})`,
    ...evalRows,
    '',
    '| label | precision | recall | f1 | support |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    ...(input.pictures ? picturesMarkdown(input.pictures, evalSet) : []),
    ...(input.changes ? [input.changes.trimEnd(), ''] : []),
  ].join('\n')
}
