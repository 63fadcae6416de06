import { stringify } from 'yaml'
import type { TrainingMetrics } from '../model/metrics.js'

export interface ModelCardInput {
  modelId: string
  baseModel: string
  labels: readonly string[]
  metrics: TrainingMetrics
  datasetSha256: string
  runId: string
  createdAt: string
  /** A model pushed by hand may come without metrics.json: the card then says so instead of showing zeros. */
  metricsUnknown?: boolean
}

/** The README.md pushed with every model: Hugging Face metadata (front matter) plus a human summary. */
export function renderModelCard(input: ModelCardInput): string {
  const { metrics } = input
  const frontMatter = {
    base_model: input.baseModel,
    pipeline_tag: 'text-classification',
    library_name: 'transformers',
    language: ['it'],
    tags: ['intent-classification', 'modelship'],
    ...(input.metricsUnknown ? {} : { 'model-index': [
      {
        name: input.modelId,
        results: [
          {
            task: { type: 'text-classification', name: 'Intent classification' },
            dataset: { type: 'custom', name: 'QA feedback', revision: input.datasetSha256 },
            metrics: [
              { type: 'accuracy', value: metrics.accuracy, name: 'Accuracy' },
              { type: 'f1', value: metrics.f1_macro, name: 'Macro F1', args: { average: 'macro' } },
            ],
          },
        ],
      },
    ] }),
    modelship: {
      labels: [...input.labels],
      dataset_sha256: input.datasetSha256,
      run_id: input.runId,
      created_at: input.createdAt,
    },
  }
  const rows = Object.entries(metrics.per_class).map(
    ([label, m]) => `| ${label} | ${m.precision.toFixed(4)} | ${m.recall.toFixed(4)} | ${m.f1.toFixed(4)} | ${m.support} |`,
  )
  return [
    '---',
    stringify(frontMatter).trimEnd(),
    '---',
    '',
    `# ${input.modelId}`,
    '',
    `Intent classifier fine-tuned from \`${input.baseModel}\`, released by modelship (run \`${input.runId}\`).`,
    '',
    `- Labels: ${input.labels.map((l) => `\`${l}\``).join(', ')}`,
    `- Dataset sha256: \`${input.datasetSha256}\``,
    input.metricsUnknown ? '- Metrics: not provided (no metrics.json)' : `- Accuracy: ${metrics.accuracy.toFixed(4)} · Macro F1: ${metrics.f1_macro.toFixed(4)}`,
    '',
    '| label | precision | recall | f1 | support |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n')
}
