import { currentModelOf } from '../pipeline/environment.js'
import { runningModelOf } from '../pipeline/history/audit-log.js'
import { parseMetricsJson } from '../pipeline/model/metrics.js'
import { sparkline } from '../pipeline/pictures/sparkline.js'
import { formatVersion } from '../pipeline/registry/version.js'
import { mapLimit } from '../pipeline/pictures/line-metrics.js'
import { openWorkspace } from './workspace.js'

/** How many metrics.json files are fetched at once. */
const METRICS_CONCURRENCY = 4

export interface ListedModel {
  id: string
  version: string
  private: boolean
  created: string | null
  lastModified: string | null
  accuracy: number | null
  f1_macro: number | null
  /** Macro F1 of the line's versions up to this one, oldest first (null: a version without metrics.json). */
  f1_macro_trend: Array<number | null>
  /** Environments whose compose/env files name this model (CONFIGURED). */
  environments: string[]
  /** Environments where it runs per the last redeploy in the history (DEPLOYED). */
  deployedIn: string[]
}

export async function listCommand(flags: { workspace?: string; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const { registry, config, files } = ws.deps
  const models = await registry.listModels()
  const usedBy = new Map<string, string[]>()
  for (const env of Object.keys(config.environments)) {
    const model = await currentModelOf(config, env, files).catch(() => undefined)
    if (model) usedBy.set(model, [...(usedBy.get(model) ?? []), env])
  }
  // Files say what is configured; only a recorded redeploy says what runs.
  const history = await ws.deps.history.read()
  const runningIn = new Map<string, string[]>()
  for (const env of Object.keys(config.environments)) {
    const running = runningModelOf(history, env)?.model
    if (running) runningIn.set(running, [...(runningIn.get(running) ?? []), env])
  }
  const metrics = await mapLimit(models, METRICS_CONCURRENCY, async (m) => {
    const text = await registry.readFile(m.id, 'metrics.json').catch(() => undefined)
    const parsed = text === undefined ? undefined : parseMetricsJson(text)
    return parsed?.ok ? parsed.metrics : undefined
  })
  // `listModels` is ascending by version: each row's trend is the line up to it.
  const f1s = metrics.map((m) => m?.f1_macro ?? null)
  const TREND_WIDTH = 8
  const rows: ListedModel[] = models
    .map((m, i) => ({
      id: m.id,
      version: formatVersion(m.version),
      private: m.private,
      created: m.createdAt ?? null,
      lastModified: m.lastModified ?? null,
      accuracy: metrics[i]?.accuracy ?? null,
      f1_macro: metrics[i]?.f1_macro ?? null,
      f1_macro_trend: f1s.slice(Math.max(0, i + 1 - TREND_WIDTH), i + 1),
      environments: usedBy.get(m.id) ?? [],
      deployedIn: runningIn.get(m.id) ?? [],
    }))
    .reverse()
  if (flags.json) {
    ws.printJson(rows)
    return 0
  }
  if (rows.length === 0) {
    ws.print(`no versions of ${config.model.org}/${config.model.prefix}-v* in ${registry.describe()}`)
    return 0
  }
  ws.print(`${registry.describe()}:`)
  // One scale for the whole column: a row's last block compares with every other row's.
  const known = f1s.filter((v): v is number => v !== null)
  const scale = { min: Math.min(...known), max: Math.max(...known) }
  const table = [
    ['MODEL', 'VERSION', 'PRIVATE', 'CREATED', 'ACCURACY', 'F1', 'F1-TREND', 'CONFIGURED', 'DEPLOYED'],
  ].concat(
    rows.map((r) => [
      r.id,
      r.version,
      r.private ? 'yes' : 'NO',
      (r.created ?? r.lastModified)?.slice(0, 19).replace('T', ' ') ?? '-',
      r.accuracy?.toFixed(4) ?? '-',
      r.f1_macro?.toFixed(4) ?? '-',
      sparkline(r.f1_macro_trend, scale),
      r.environments.join(',') || '-',
      r.deployedIn.join(',') || '-',
    ]),
  )
  for (const line of alignColumns(table)) ws.print(line)
  return 0
}

export function alignColumns(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)))
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  )
}
