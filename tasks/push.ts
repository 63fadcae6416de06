import { readTrainingOrigin, withoutAbsolutePathFiles } from '../pipeline/model/training-args.js'
import { renderModelCard } from '../pipeline/registry/model-card.js'
import { describePictures, renderPictureFiles } from '../pipeline/pictures/card-pictures.js'
import { readLineMetrics } from '../pipeline/pictures/line-metrics.js'
import { versionOfRepo } from '../pipeline/registry/version.js'
import { describePushFiles, listPushFiles } from '../pipeline/registry/model-folder.js'
import { modelDirOf } from '../pipeline/model/trainer.js'
import { createThrottle, createTransferMeter, formatTransferLine } from '../pipeline/progress/transfer.js'
import { computeChanges, loadBaseline, renderChangesMarkdown } from '../pipeline/release/changes.js'
import { need } from '../pipeline/release/context.js'
import { formatBytes } from '../pipeline/format/bytes.js'
import { defineStep } from './step.js'

const PROGRESS_INTERVAL_MS = 1000

export const pushStep = defineStep({
  name: 'push',
  title: 'Push model to registry',
  inDryRun: 'skip',
  outputs: ['pushed', 'changes', 'pictures'],
  plan: (ctx, deps) => [
    {
      kind: 'push',
      target: `${ctx.release?.modelId ?? '<next model>'} (private) on ${deps.registry.describe()}`,
      detail:
        `from ${modelDirOf(ctx.runDir)} + README.md, confusion_matrix.svg, per_class_f1.svg, trend.svg (model ` +
        `files only: checkpoints, optimizer state and ${['runs/', ...deps.config.trainer.exclude].join(', ')} are ` +
        `never pushed)`,
    },
  ],
  inputs: (ctx) => ({
    modelId: ctx.release?.modelId,
    metrics: ctx.model?.metrics,
    dataset: ctx.dataset?.sha256,
    evalSet: ctx.gate?.evalSet?.sha256,
  }),
  async run(ctx, deps, task) {
    const model = need(ctx, 'model')
    const release = need(ctx, 'release')
    const dataset = need(ctx, 'dataset')
    const files = await listPushFiles(model.dir, deps.config.trainer.exclude)
    // No absolute local paths leave the machine (training_args.json's --data/--output, config.json's _name_or_path).
    const rewritten = await withoutAbsolutePathFiles(model.dir, files)
    if (rewritten.length)
      deps.log.info(`push: absolute local paths rewritten in ${rewritten.map((f) => f.path).join(', ')}`)
    const evalSet = ctx.gate?.evalSet
    // The release note goes into the card (and, from the record step, into history).
    const replaced = ctx.currentModel ?? null
    const baseline = await loadBaseline(replaced, await deps.history.read(), deps.stateDir)
    ctx.changes = computeChanges(baseline, {
      perLabel: dataset.report.perLabel,
      metrics: { accuracy: model.metrics.accuracy, f1_macro: model.metrics.f1_macro },
    })
    // The pictures: this version's matrix and per-class F1 beside the model it replaces, and the trend of every
    // version of the line from the registry's metrics.json files (this one added: it is not pushed yet).
    const { org, prefix } = deps.config.model
    ctx.pictures = describePictures({
      modelId: release.modelId,
      version: release.version ?? versionOfRepo(release.modelId, prefix, org) ?? { major: 0, minor: 0 },
      metrics: model.metrics,
      labels: model.labels,
      line: await readLineMetrics(deps.registry),
      replaces: replaced,
    })
    task.output = 'drawing the model card pictures'
    const pictureFiles = await renderPictureFiles(ctx.pictures)
    const card = renderModelCard({
      pictures: ctx.pictures,
      changes: renderChangesMarkdown(ctx.changes),
      modelId: release.modelId,
      origin: await readTrainingOrigin(model.dir),
      labels: model.labels,
      metrics: model.metrics,
      datasetSha256: dataset.sha256,
      runId: ctx.runId,
      createdAt: ctx.startedAt,
      license: deps.config.model.license,
      ...(evalSet ? { evalSet } : {}),
    })
    const summary = `${describePushFiles(files)} + README.md`
    deps.log.info(`push: uploading ${summary} to ${release.modelId}`)
    task.output = `uploading ${summary}`
    const now = (): number => deps.clock.now().getTime()
    const meter = createTransferMeter({ now, expected: { phase: 'uploading', files } })
    // A terminal redraws the line in place; a plain log gets one line per second and one per finished file.
    const shouldShow = createThrottle(now, PROGRESS_INTERVAL_MS)
    const pushed = await deps.registry.push({
      exclude: deps.config.trainer.exclude,
      modelId: release.modelId,
      dir: model.dir,
      extraFiles: [...rewritten, { path: 'README.md', content: deps.redact(card) }, ...pictureFiles],
      commitMessage: `modelship: ${release.modelId} (run ${ctx.runId})`,
      ...(ctx.pushed?.modelId === release.modelId ? { replaces: ctx.pushed } : {}),
      signal: ctx.signal,
      onProgress: (p) => {
        const snapshot = meter.update(p)
        if (shouldShow(snapshot.finished)) task.output = formatTransferLine(snapshot)
      },
    })
    ctx.pushed = pushed
    const bytes = Object.values(pushed.manifest).reduce((n, f) => n + f.size, 0)
    task.title =
      `Pushed ${release.modelId} (${Object.keys(pushed.manifest).length} files, ${formatBytes(bytes)}, ` +
      `commit ${pushed.commit.slice(0, 12)}) to ${deps.registry.describe()}`
  },
})
