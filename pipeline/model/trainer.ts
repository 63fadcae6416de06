import { join } from 'node:path'
import type { Config } from '../config/config.js'
import { ModelshipError } from '../engine/errors.js'
import type { Command } from '../ports/types.js'
import { labelsOfModelConfig, parseClassificationReport, parseMetricsJson, type TrainingMetrics } from './metrics.js'
import { readTextIfAny } from '../fs-atomic.js'

/** What modelship learnt from the trainer's `--help` (preflight): whether it takes `--labels`. */
export interface TrainerFlags {
  passLabels: boolean
}

/** The `--key value` pairs modelship adds after `--data` and `--output`: trainer.args, then --labels when passed. */
export function trainerArgPairs(config: Config, flags?: TrainerFlags): Array<[string, string | true]> {
  const pairs: Array<[string, string | true]> = []
  for (const [key, value] of Object.entries(config.trainer.args)) {
    if (value === false) continue
    pairs.push([key, value === true ? true : String(value)])
  }
  if (flags?.passLabels && config.trainer.args.labels === undefined)
    pairs.push(['labels', config.model.labels.join(',')])
  return pairs
}

/**
 * `<command> --data <dataset> --output <dir> [--key value …]` (CONTRACT.md); `true` flags take no value,
 * `false` ones are left out; `--labels a,b,…` is added when the trainer takes it and trainer.args does not set it.
 */
export function trainCommand(config: Config, dataPath: string, outputDir: string, flags?: TrainerFlags): Command {
  const args: string[] = ['--data', dataPath, '--output', outputDir]
  for (const [key, value] of trainerArgPairs(config, flags)) {
    args.push(`--${key}`)
    if (value !== true) args.push(value)
  }
  return [...config.trainer.command, ...args]
}

/** Every `--flag` a training run passes: what the trainer's `--help` must list. */
export function trainerFlagsPassed(config: Config, flags?: TrainerFlags): string[] {
  return ['--data', '--output', ...trainerArgPairs(config, flags).map(([key]) => `--${key}`)]
}

export const trainerProbeCommand = (config: Config): Command => [...config.trainer.command, '--help']

/** `<trainer.evaluate> --model DIR --data FILE --json` (prints one metrics JSON object). */
export const evaluateCommand = (evaluate: Command, modelDir: string, dataPath: string): Command => [
  ...evaluate,
  '--model',
  modelDir,
  '--data',
  dataPath,
  '--json',
]

export const modelDirOf = (runDir: string): string => join(runDir, 'model')

/**
 * metrics.json when the trainer wrote one (validated: a wrong shape is bad input naming the file),
 * else the classification_report it printed (`fromReport`: modelship then stores them as metrics.json).
 */
export async function readMetrics(
  outputDir: string,
  stdout: string,
  labels: readonly string[],
): Promise<{ metrics: TrainingMetrics; fromReport: boolean }> {
  const path = join(outputDir, 'metrics.json')
  const text = readTextIfAny(path)
  if (text !== undefined) {
    const parsed = parseMetricsJson(text)
    if (!parsed.ok)
      throw new ModelshipError('BAD_INPUT', `${path}: ${parsed.problem}`, {
        hint: 'fix the trainer so it writes the metrics.json shape of CONTRACT.md',
      })
    return { metrics: parsed.metrics, fromReport: false }
  }
  const fromReport = parseClassificationReport(stdout, labels)
  if (!fromReport)
    throw new ModelshipError('STEP_FAILED', `the trainer wrote no ${path} and printed no classification_report`)
  return { metrics: { ...fromReport, source: 'classification_report' }, fromReport: true }
}

/** The labels of the model's config.json (id2label), or undefined when it has none. */
export async function readModelLabels(outputDir: string): Promise<string[] | undefined> {
  const text = readTextIfAny(join(outputDir, 'config.json'))
  return text === undefined ? undefined : labelsOfModelConfig(text)
}

/** The label set the model was trained with: config.json's id2label, else the configured labels. */
export async function readLabels(outputDir: string, fallback: readonly string[]): Promise<string[]> {
  return (await readModelLabels(outputDir)) ?? [...fallback]
}
