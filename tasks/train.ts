import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { writeFileAtomic } from '../pipeline/fs-atomic.js'
import { labelDifference } from '../pipeline/model/labels.js'
import { saveTrainerHelp } from '../pipeline/model/trainer-help.js'
import { modelDirOf, readMetrics, readModelLabels, trainCommand } from '../pipeline/model/trainer.js'
import { classificationReportOf, openTrainLog, TRAIN_LOG } from '../pipeline/progress/train-log.js'
import { need } from '../pipeline/release/context.js'
import { defineStep, showLine } from './step.js'

export const trainStep = defineStep({
  name: 'train',
  title: 'Train model',
  inDryRun: 'skip',
  outputs: ['model'],
  // The trainer's last lines stay visible under the task in a terminal; plain output gets every line once.
  outputBar: 5,
  plan: (ctx, deps) => [
    {
      kind: 'exec',
      argv: trainCommand(deps.config, ctx.dataset?.path ?? '<dataset.jsonl>', modelDirOf(ctx.runDir), ctx.trainerFlags),
    },
  ],
  inputs: (ctx, deps) => ({
    dataset: ctx.dataset?.sha256,
    command: deps.config.trainer.command,
    args: deps.config.trainer.args,
    ...(ctx.trainerFlags?.passLabels ? { labels: deps.config.model.labels } : {}),
  }),
  async run(ctx, deps, task) {
    const dataset = need(ctx, 'dataset')
    // The help cache is written here, not in preflight: a run refused before training leaves nothing behind.
    // It is written while the trainer starts, and waited for once it is done.
    const helpSaved = saveTrainerHelp(ctx.trainerHelp)
    helpSaved.catch(() => {}) // reported by the await below, after the trainer
    const outputDir = modelDirOf(ctx.runDir)
    const configured = deps.config.model.labels
    // A half-written model from an interrupted attempt must not be mistaken for this one.
    rmSync(outputDir, { recursive: true, force: true })
    const printed: string[] = []
    // The whole output is kept beside the model: the live view shows only the last lines.
    const logPath = join(ctx.runDir, TRAIN_LOG)
    const log = await openTrainLog(logPath, deps.redact)
    let stdout: string | undefined
    try {
      stdout = await deps.sh.write(trainCommand(deps.config, dataset.path, outputDir, ctx.trainerFlags), {
        env: deps.secrets.hfToken ? { HF_TOKEN: deps.secrets.hfToken } : {},
        onLine: (line, stream) => {
          if (stream === 'stdout') printed.push(line)
          log.line(line)
          showLine(task, line)
        },
      })
    } finally {
      await log.close()
    }
    await helpSaved
    const { metrics, fromReport } = await readMetrics(outputDir, stdout ?? printed.join('\n'), configured)
    // Metrics travel with the model: the next release's gate, `list` and the card read them from the registry.
    if (fromReport) await writeFileAtomic(join(outputDir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`)

    const trained = await readModelLabels(outputDir)
    if (trained === undefined) {
      deps.log.warn(
        `${join(outputDir, 'config.json')} has no id2label: the trained labels were not checked against model.labels`,
      )
    } else {
      const { missing, extra } = labelDifference(trained, configured)
      if (missing.length || extra.length) {
        const parts = [
          ...(missing.length ? [`missing ${missing.join(', ')}`] : []),
          ...(extra.length ? [`extra ${extra.join(', ')}`] : []),
        ]
        throw new ModelshipError(
          'BAD_INPUT',
          `the trained model's labels (config.json id2label) are not model.labels: ${parts.join('; ')}; nothing was ` +
            `pushed`,
          {
            hint: 'make the trainer use model.labels (its --labels flag, or trainer.args.labels), or fix model.labels',
          },
        )
      }
    }
    const report = classificationReportOf(stdout ?? printed.join('\n'))
    ctx.model = {
      dir: outputDir,
      metrics,
      labels: trained ?? [...configured],
      ...(report ? { report } : {}),
      log: logPath,
    }
    const from = fromReport ? ' (from the printed classification_report, kept as metrics.json)' : ''
    task.title =
      `Trained model: accuracy ${metrics.accuracy.toFixed(4)}, macro F1 ` + `${metrics.f1_macro.toFixed(4)}${from}`
  },
})
