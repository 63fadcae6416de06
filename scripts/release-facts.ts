import { join } from 'node:path'
import { editComposeModel } from '../pipeline/compose/edit.js'
import { editEnvFile } from '../pipeline/compose/env-file.js'
import { unifiedDiff } from '../pipeline/compose/diff.js'
import type { Config } from '../pipeline/config/config.js'
import { environmentOf } from '../pipeline/environment.js'
import { parseMetricsJson, type TrainingMetrics } from '../pipeline/model/metrics.js'
import type { Deps } from '../pipeline/ports/deps.js'
import type { Ctx } from '../pipeline/release/context.js'
import { alignColumns } from './list.js'

// The facts a person sees before a release pushes: the next model id, the gate table and the diff
// the compose step will make. Read-only.

export interface GateRow {
  metric: string
  value: number
  /** The rule's bound (`≥ 0.90`), or null when no gate applies to the metric. */
  bound: number | null
  /** The same metric of the model the environment runs now, when known. */
  current: number | null
}

export function gateRows(
  metrics: TrainingMetrics,
  gates: Config['gates'],
  labels: readonly string[],
  current?: TrainingMetrics,
): GateRow[] {
  const rows: GateRow[] = [
    { metric: 'accuracy', value: metrics.accuracy, bound: gates.min_accuracy, current: current?.accuracy ?? null },
    { metric: 'f1_macro', value: metrics.f1_macro, bound: null, current: current?.f1_macro ?? null },
  ]
  for (const label of labels) {
    rows.push({
      metric: `f1[${label}]`,
      value: metrics.per_class[label]?.f1 ?? 0,
      bound: gates.min_class_f1,
      current: current?.per_class[label]?.f1 ?? null,
    })
  }
  return rows
}

const fmt = (n: number | null): string => (n === null ? '-' : n.toFixed(4))

export function gateTable(rows: readonly GateRow[], currentModel: string | undefined): string[] {
  const head = ['METRIC', 'VALUE', 'BOUND', `CURRENT${currentModel ? ` (${currentModel})` : ''}`]
  return alignColumns([
    head,
    ...rows.map((r) => [r.metric, fmt(r.value), r.bound === null ? '-' : `≥ ${r.bound}`, fmt(r.current)]),
  ])
}

/** The current model's metrics.json from the registry, when it has one (a base alias has none). */
export async function currentMetrics(ctx: Ctx, deps: Deps): Promise<TrainingMetrics | undefined> {
  const id = ctx.currentModel
  if (!id || deps.config.model.base_aliases.includes(id)) return undefined
  const text = await deps.registry.readFile(id, 'metrics.json').catch(() => undefined)
  const parsed = text === undefined ? undefined : parseMetricsJson(text)
  return parsed?.ok ? parsed.metrics : undefined
}

/** The diff the compose step would make for `modelId`, computed without writing. */
export async function previewDiff(
  config: Config,
  envName: string,
  modelId: string,
  deps: Pick<Deps, 'files'>,
): Promise<string> {
  const env = environmentOf(config, envName)
  const { service, build_arg: buildArg } = config.deploy
  const baseAliases = config.model.base_aliases
  const diffs: string[] = []
  for (const file of env.edit) {
    const before = await deps.files.readText(join(config.workspace, file))
    diffs.push(
      unifiedDiff(file, before, editComposeModel(before, { file, service, buildArg, modelId, baseAliases }).text),
    )
  }
  for (const file of env.env_files) {
    const before = await deps.files.readText(join(config.workspace, file))
    diffs.push(unifiedDiff(file, before, editEnvFile(before, { file, key: buildArg, modelId, baseAliases }).text))
  }
  return diffs.filter(Boolean).join('\n')
}

/** What `release` shows before the push step asks. */
export async function releaseFacts(ctx: Ctx, deps: Deps): Promise<string[]> {
  const modelId = ctx.release?.modelId ?? '?'
  const lines = [``, `Release ${modelId} to ${ctx.envName} (now: ${ctx.currentModel ?? '?'})`]
  if (ctx.release?.reason) lines.push(`  version: ${ctx.release.reason}`)
  if (ctx.model) {
    const rows = gateRows(ctx.model.metrics, deps.config.gates, ctx.model.labels, await currentMetrics(ctx, deps))
    lines.push('  gates:', ...gateTable(rows, ctx.currentModel).map((l) => `    ${l}`))
  }
  let diff: string
  try {
    diff = await previewDiff(deps.config, ctx.envName, modelId, deps)
  } catch (e) {
    diff = `(the compose diff cannot be computed: ${(e as Error).message.split('\n')[0]})`
  }
  lines.push(
    diff ? '  compose diff:' : '  compose files: already set',
    ...diff
      .trimEnd()
      .split('\n')
      .filter(Boolean)
      .map((l) => `    ${l}`),
  )
  const redeploys = ctx.deployTarget?.enabled && !ctx.options.noDeploy
  const noRedeploy = ` (no redeploy${ctx.deployTarget?.reason ? `: ${ctx.deployTarget.reason}` : ''})`
  lines.push(
    `  then: push to ${deps.registry.describe()}, edit the files${redeploys ? ', rebuild and redeploy' : noRedeploy}`,
  )
  return lines
}
