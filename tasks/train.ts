import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { modelDirOf, readLabels, readMetrics, trainCommand } from '../pipeline/model/trainer.js'
import { classificationReportOf, openTrainLog, TRAIN_LOG } from '../pipeline/progress/train-log.js'
import { need } from '../pipeline/release/context.js'
import { defineStep } from './step.js'

export const trainStep = defineStep({
  name: 'train',
  title: 'Train model',
  inDryRun: 'skip',
  outputs: ['model'],
  // The trainer's last lines stay visible under the task in a terminal; plain output gets every line once.
  outputBar: 5,
  plan: (ctx, deps) => [{ kind: 'exec', argv: trainCommand(deps.config, ctx.dataset?.path ?? '<dataset.jsonl>', modelDirOf(ctx.runDir)) }],
  inputs: (ctx, deps) => ({ dataset: ctx.dataset?.sha256, command: deps.config.trainer.command, args: deps.config.trainer.args }),
  async run(ctx, deps, task) {
    const dataset = need(ctx, 'dataset')
    const outputDir = modelDirOf(ctx.runDir)
    // A half-written model from an interrupted attempt must not be mistaken for this one.
    await rm(outputDir, { recursive: true, force: true })
    const printed: string[] = []
    // The whole output is kept beside the model: the live view shows only the last lines.
    const logPath = join(ctx.runDir, TRAIN_LOG)
    const log = await openTrainLog(logPath, deps.redact)
    let stdout: string | undefined
    try {
      stdout = await deps.sh.write(trainCommand(deps.config, dataset.path, outputDir), {
        env: deps.secrets.hfToken ? { HF_TOKEN: deps.secrets.hfToken } : {},
        onLine: (line, stream) => {
          if (stream === 'stdout') printed.push(line)
          log.line(line)
          task.output = line
        },
      })
    } finally {
      await log.close()
    }
    const metrics = await readMetrics(outputDir, stdout ?? printed.join('\n'), deps.config.model.labels)
    const labels = await readLabels(outputDir, deps.config.model.labels)
    const configured = deps.config.model.labels
    if (labels.length !== configured.length || labels.some((l) => !configured.includes(l))) {
      deps.log.warn(`the trainer produced the labels ${labels.join(', ')} but model.labels is ${configured.join(', ')}; versions follow the trained labels`)
    }
    const report = classificationReportOf(stdout ?? printed.join('\n'))
    ctx.model = { dir: outputDir, metrics, labels, ...(report ? { report } : {}), log: logPath }
    task.title = `Trained model: accuracy ${metrics.accuracy.toFixed(4)}, macro F1 ${metrics.f1_macro.toFixed(4)}`
  },
})
