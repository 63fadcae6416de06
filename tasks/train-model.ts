import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../pipeline/config.js'
import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { ModelshipError } from '../pipeline/errors.js'
import { labelsOfModelConfig, parseClassificationReport, parseMetricsJson, type TrainingMetrics } from '../pipeline/metrics.js'
import type { Command } from '../pipeline/ports.js'
import type { StepFactory } from './types.js'

/** `<command> --data <dataset> --output <dir> [--key value …]` (CONTRACT.md); `true` flags take no value, `false` ones are left out. */
export function trainCommand(config: Config, dataPath: string, outputDir: string): Command {
  const args: string[] = ['--data', dataPath, '--output', outputDir]
  for (const [key, value] of Object.entries(config.trainer.args)) {
    if (value === false) continue
    args.push(`--${key}`)
    if (value !== true) args.push(String(value))
  }
  return [...config.trainer.command, ...args]
}

export const modelDirOf = (runDir: string): string => join(runDir, 'model')

export const trainModel: StepFactory = (deps: Deps) => ({
  title: 'Train model',
  // The trainer's last lines stay visible under the task in a terminal; plain output gets every line once.
  rendererOptions: { outputBar: 5 },
  task: async (ctx: Ctx, task) => {
    const dataset = need(ctx, 'dataset')
    const outputDir = modelDirOf(ctx.runDir)
    // A half-written model from an interrupted attempt must not be mistaken for this one.
    await rm(outputDir, { recursive: true, force: true })
    const printed: string[] = []
    const stdout = await deps.sh.write(trainCommand(deps.config, dataset.path, outputDir), {
      env: deps.secrets.hfToken ? { HF_TOKEN: deps.secrets.hfToken } : {},
      onLine: (line, stream) => {
        if (stream === 'stdout') printed.push(line)
        task.output = line
      },
    })
    const metrics = await readMetrics(outputDir, stdout ?? printed.join('\n'), deps.config.model.labels)
    const labels = await readLabels(outputDir, deps.config.model.labels)
    const configured = deps.config.model.labels
    if (labels.length !== configured.length || labels.some((l) => !configured.includes(l))) {
      deps.log.warn(`the trainer produced the labels ${labels.join(', ')} but model.labels is ${configured.join(', ')}; versions follow the trained labels`)
    }
    ctx.model = { dir: outputDir, metrics, labels }
    task.title = `Trained model: accuracy ${metrics.accuracy.toFixed(4)}, macro F1 ${metrics.f1_macro.toFixed(4)}`
  },
})

/** metrics.json when the trainer wrote one, else the classification_report it printed. */
export async function readMetrics(outputDir: string, stdout: string, labels: readonly string[]): Promise<TrainingMetrics> {
  const path = join(outputDir, 'metrics.json')
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch {
    text = undefined
  }
  if (text !== undefined) {
    const parsed = parseMetricsJson(text)
    if (!parsed.ok) throw new ModelshipError('STEP_FAILED', `${path}: ${parsed.problem}`)
    return parsed.metrics
  }
  const fromReport = parseClassificationReport(stdout, labels)
  if (!fromReport) throw new ModelshipError('STEP_FAILED', `the trainer wrote no ${path} and printed no classification_report`)
  return fromReport
}

/** The label set the model was trained with: config.json's id2label, else the configured labels. */
export async function readLabels(outputDir: string, fallback: readonly string[]): Promise<string[]> {
  const text = await readFile(join(outputDir, 'config.json'), 'utf8').catch(() => undefined)
  return (text === undefined ? undefined : labelsOfModelConfig(text)) ?? [...fallback]
}
