import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config/config.js'
import { ModelshipError } from '../engine/errors.js'
import type { Command } from '../ports/types.js'
import { labelsOfModelConfig, parseClassificationReport, parseMetricsJson, type TrainingMetrics } from './metrics.js'

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

export const trainerProbeCommand = (config: Config): Command => [...config.trainer.command, '--help']

export const modelDirOf = (runDir: string): string => join(runDir, 'model')

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
