import { join } from 'node:path'
import { resolveFeedbackSource } from '../pipeline/config/feedback-source.js'
import { describeFeedbackSource, exportFeedback, sourceIdentity, sourceKind } from '../pipeline/feedback/index.js'
import { sha256File, writeFileAtomic } from '../pipeline/fs-atomic.js'
import { defineStep } from './step.js'

export const exportStep = defineStep({
  name: 'export',
  title: 'Export QA feedback',
  // Reading a file or a read-only database query is safe in a dry run; the app's export API stamps the
  // rows it returns as exported, so a dry run only says what it would fetch.
  inDryRun: (_ctx, deps) =>
    sourceKind(resolveFeedbackSource(deps.config, deps.secrets.databaseUrl)) === 'http' ? 'skip' : 'run',
  plan: (_ctx, deps) => [
    {
      kind: 'note',
      text: describeFeedbackSource(resolveFeedbackSource(deps.config, deps.secrets.databaseUrl), {
        ...(deps.secrets.feedbackApiToken ? { apiToken: deps.secrets.feedbackApiToken } : {}),
        query: deps.config.feedback.query,
      }),
    },
  ],
  outputs: ['dataset'],
  // The source's identity and, for files, their content hash.
  async inputs(_ctx, deps) {
    const source = resolveFeedbackSource(deps.config, deps.secrets.databaseUrl)
    const identity = sourceIdentity(source)
    if (sourceKind(source) === 'file') return { source: identity, sha256: await sha256File(source), query: null }
    return { source: identity, query: deps.config.feedback.query }
  },
  async run(ctx, deps, task) {
    const source = resolveFeedbackSource(deps.config, deps.secrets.databaseUrl)
    const path = join(ctx.runDir, 'dataset.jsonl')
    const result = await exportFeedback({
      source,
      query: deps.config.feedback.query,
      destPath: path,
      // A dry run's run directory is scratch, removed at its end: its dataset is written (validate reads
      // the report, the plan names the file) but never flushed to disk, which only waited for the disk.
      durable: !ctx.dryRun,
      labels: deps.config.model.labels,
      ...(deps.secrets.feedbackApiToken ? { apiToken: deps.secrets.feedbackApiToken } : {}),
      onProgress: (line) => (task.output = line),
      signal: ctx.signal,
    })
    const reportPath = join(ctx.runDir, 'dataset-report.json')
    await writeFileAtomic(reportPath, `${JSON.stringify(result.report, null, 2)}\n`)
    ctx.dataset = { path: result.path, sha256: result.sha256, reportPath, report: result.report }
    const dropped = Object.entries(result.report.dropped).map(([reason, d]) => `${d?.count ?? 0} ${reason}`)
    task.title =
      `Exported ${result.report.kept} rows from ` +
      `${sourceIdentity(source)}${dropped.length ? ` (dropped ${dropped.join(', ')})` : ''}`
  },
})
