import { ModelshipError } from '../engine/errors.js'

export interface Version {
  major: number
  minor: number
}

const VERSION_PATTERN = /^v?(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/

/** Parses `1.3` or `v1.3`; throws BAD_INPUT naming the value otherwise. */
export function parseVersion(text: string, where = 'version'): Version {
  const m = VERSION_PATTERN.exec(text.trim())
  if (!m) throw new ModelshipError('BAD_INPUT', `${where}: '${text}' is not a version like 1.3 or v1.3`)
  return { major: Number(m[1]), minor: Number(m[2]) }
}

export function formatVersion(v: Version): string {
  return `v${v.major}.${v.minor}`
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor
}

export function repoName(prefix: string, v: Version): string {
  return `${prefix}-${formatVersion(v)}`
}

export function modelIdFor(org: string, prefix: string, v: Version): string {
  return `${org}/${repoName(prefix, v)}`
}

/**
 * The version of a repo name `<prefix>-v<major>.<minor>` (with or without `org/`), or undefined when it does not parse.
 */
export function versionOfRepo(nameOrId: string, prefix: string, org?: string): Version | undefined {
  let name = nameOrId
  const slash = name.indexOf('/')
  if (slash >= 0) {
    if (org !== undefined && name.slice(0, slash).toLowerCase() !== org.toLowerCase()) return undefined
    name = name.slice(slash + 1)
  }
  if (!name.startsWith(`${prefix}-v`)) return undefined
  const m = VERSION_PATTERN.exec(name.slice(prefix.length + 1))
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined
}

/** The next version: 1.0 when there is none; else the highest bumped by `bump` (minor: x.y+1, major: x+1.0). */
export function nextVersion(existing: readonly Version[], bump: 'major' | 'minor'): Version {
  const latest = [...existing].sort(compareVersions).at(-1)
  if (!latest) return { major: 1, minor: 0 }
  return bump === 'major' ? { major: latest.major + 1, minor: 0 } : { major: latest.major, minor: latest.minor + 1 }
}

// A Hub model id: org/name with letters, digits, _ . -; nothing a YAML scalar or a shell could misread.
const MODEL_ID_PATTERN = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/

/** True when `id` is a registry model id or one of the base aliases; nothing else may be written to a file. */
export function isValidModelRef(id: string, baseAliases: readonly string[]): boolean {
  return baseAliases.includes(id) || (MODEL_ID_PATTERN.test(id) && !id.includes('..') && id.length <= 96)
}

export function assertValidModelRef(id: string, baseAliases: readonly string[], where = 'model id'): void {
  if (!isValidModelRef(id, baseAliases)) {
    throw new ModelshipError(
      'BAD_INPUT',
      `${where}: ${JSON.stringify(id)} is not a model id (<org>/<name> of letters, digits, '_', '.', '-') nor a base ` +
        `alias (${baseAliases.join(', ')})`,
    )
  }
}
