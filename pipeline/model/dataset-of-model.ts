import { parse } from 'yaml'
import type { HistoryEntry } from '../history/audit-log.js'
import type { ModelRegistry } from '../registry/types.js'

/** The sha256 of the dataset a model was trained on, and where modelship found it. */
export interface TrainedOn {
  sha256: string
  from: 'history' | 'model card'
}

/** The `modelship.dataset_sha256` of a model card's front matter, when it has one. */
export function datasetOfCard(card: string): string | undefined {
  const m = /^---\r?\n([\s\S]*?)\r?\n---/.exec(card)
  if (!m) return undefined
  try {
    const sha = (parse(m[1]!) as { modelship?: { dataset_sha256?: unknown } } | null)?.modelship?.dataset_sha256
    return typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined
  } catch {
    return undefined
  }
}

/**
 * What `modelId` was trained on: the `datasetSha256` of the successful release that produced it
 * (history, newest first), else its model card in the registry.
 */
export async function datasetOfModel(
  modelId: string,
  o: { history: readonly HistoryEntry[]; registry: Pick<ModelRegistry, 'readFile'> },
): Promise<TrainedOn | undefined> {
  const released = o.history.find(
    (e) => e.action === 'release' && e.outcome === 'success' && e.to === modelId && e.datasetSha256,
  )
  if (released?.datasetSha256) return { sha256: released.datasetSha256, from: 'history' }
  const card = await o.registry.readFile(modelId, 'README.md')
  const sha = card === undefined ? undefined : datasetOfCard(card)
  return sha ? { sha256: sha, from: 'model card' } : undefined
}
