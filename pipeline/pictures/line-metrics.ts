import { parseMetricsJson, type TrainingMetrics } from '../model/metrics.js'
import type { ModelRegistry } from '../registry/types.js'
import { compareVersions, type Version } from '../registry/version.js'

/** How many metrics.json files are read from the registry at once. */
const CONCURRENCY = 4

/** One version of the model line with its metrics.json, or why it has none. */
export interface LineVersion {
  id: string
  version: Version
  metrics?: TrainingMetrics
  /** No metrics.json, or one that does not parse: the version is listed but not drawn. */
  problem?: string
}

/**
 * Every version of `<org>/<prefix>-v*` the registry lists, oldest first, each with its metrics.json (the
 * registry port's reads only). The trend of a card, `list`'s sparkline and `show` read the same thing.
 */
export async function readLineMetrics(registry: ModelRegistry): Promise<LineVersion[]> {
  const models = [...(await registry.listModels())].sort((a, b) => compareVersions(a.version, b.version))
  return mapLimit(models, CONCURRENCY, async (m): Promise<LineVersion> => {
    const text = await registry.readFile(m.id, 'metrics.json')
    if (text === undefined) return { id: m.id, version: m.version, problem: 'no metrics.json' }
    const parsed = parseMetricsJson(text)
    return parsed.ok
      ? { id: m.id, version: m.version, metrics: parsed.metrics }
      : { id: m.id, version: m.version, problem: `metrics.json: ${parsed.problem}` }
  })
}

/** `fn` over `items`, at most `limit` at a time, results in the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
