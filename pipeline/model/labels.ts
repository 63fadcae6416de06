import type { ModelRegistry, RegistryModel } from '../registry/types.js'
import { labelsOfModelConfig } from './metrics.js'

/** The label set a registry model was trained with (its config.json id2label), if readable. */
export async function labelsOf(registry: ModelRegistry, model: RegistryModel): Promise<string[] | undefined> {
  const text = await registry.readFile(model.id, 'config.json')
  return text ? labelsOfModelConfig(text) : undefined
}

export const sameLabelSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n')

/** Pure: the configured labels the model lacks and the ones it has beyond them. */
export function labelDifference(
  trained: readonly string[],
  configured: readonly string[],
): { missing: string[]; extra: string[] } {
  return {
    missing: configured.filter((l) => !trained.includes(l)),
    extra: trained.filter((l) => !configured.includes(l)),
  }
}
