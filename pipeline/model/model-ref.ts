import { modelIdFor, parseVersion } from '../registry/version.js'

export interface ModelNaming {
  org: string
  prefix: string
  baseAliases: readonly string[]
}

const SHORT_VERSION = /^v?\d+\.\d+$/

/**
 * Expands a model id as a person types it: `v1.3`, `1.3` and `<prefix>-v1.3` name `<org>/<prefix>-v1.3`;
 * a base alias or a full `<org>/<name>` id is returned as given. Anything else is returned unchanged for
 * the caller's validation to reject with its own message.
 */
export function resolveModelRef(text: string, naming: ModelNaming): string {
  const ref = text.trim()
  if (naming.baseAliases.includes(ref) || ref.includes('/')) return ref
  if (SHORT_VERSION.test(ref)) return modelIdFor(naming.org, naming.prefix, parseVersion(ref))
  const withPrefix = `${naming.prefix}-`
  if (ref.startsWith(withPrefix) && SHORT_VERSION.test(ref.slice(withPrefix.length))) {
    return modelIdFor(naming.org, naming.prefix, parseVersion(ref.slice(withPrefix.length)))
  }
  return ref
}
