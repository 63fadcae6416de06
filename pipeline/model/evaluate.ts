import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { ModelshipError } from '../engine/errors.js'
import { sha256 } from '../fs-atomic.js'
import { formatCommand } from '../ports/format-command.js'
import type { Command, Shell } from '../ports/types.js'
import type { GateScores } from './gate-table.js'
import { parseMetricsJson, type ConfusionMatrix } from './metrics.js'
import { evaluateCommand } from './trainer.js'

/** What identifies the fixed evaluation set: its file name, row count and content hash. */
export interface EvalSetInfo {
  name: string
  rows: number
  sha256: string
}

/** Reads gates.eval_set: a missing file is bad input naming it. */
export async function describeEvalSet(path: string): Promise<EvalSetInfo> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ModelshipError(
      'CONFIG',
      `gates.eval_set: ${path}: ` +
        `${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    )
  }
  return { name: basename(path), rows: text.split('\n').filter((l) => l.trim() !== '').length, sha256: sha256(text) }
}

/** The metrics JSON object an evaluator printed: the whole output, else its last line that parses. */
export function parseEvaluatorOutput(stdout: string): ReturnType<typeof parseMetricsJson> {
  const whole = parseMetricsJson(stdout.trim())
  if (whole.ok) return whole
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
  const last = lines.at(-1)
  return last === undefined ? whole : parseMetricsJson(last)
}

/** Runs `<trainer.evaluate> --model DIR --data FILE --json` and returns the scores it printed (and its confusion
 * matrix, when the evaluator printed one). */
export async function evaluateModel(
  sh: Shell,
  evaluate: Command,
  modelDir: string,
  dataPath: string,
): Promise<GateScores & { confusion_matrix?: ConfusionMatrix }> {
  const cmd = evaluateCommand(evaluate, modelDir, dataPath)
  const stdout = await sh.read(cmd)
  const parsed = parseEvaluatorOutput(stdout)
  if (!parsed.ok) {
    throw new ModelshipError(
      'BAD_INPUT',
      `trainer.evaluate: ${formatCommand(evaluate)} printed no metrics JSON object (${parsed.problem})`,
      {
        hint: 'it must print one JSON object in the metrics.json shape (CONTRACT.md) with --json',
      },
    )
  }
  const { accuracy, f1_macro, per_class, confusion_matrix } = parsed.metrics
  return { accuracy, f1_macro, per_class, ...(confusion_matrix ? { confusion_matrix } : {}) }
}
