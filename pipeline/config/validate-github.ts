// deploy.github and environments.<env>.github: checked key by key (the environment's mapping overrides a few).
import type { GithubConfig } from './config.js'
import { isObject, type Raw } from './layers.js'

const REPO = /^[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]*$/
const SCOPE = /^(repository|environment:[^\s/]+)$/
// A workflow file name under .github/workflows/ or its numeric id.
const WORKFLOW = /^([\w.-]+\.ya?ml|\d+)$/
const REF = /^(?!-)(?!.*\.\.)[\w./-]+$/
const URL_PATTERN = /^https?:\/\/[^\s]+$/

type Where = (path: string) => string

/**
 * The keys of one github mapping. `partial` (an environment's): only the keys it names, the rest come from
 * deploy.github. Every problem is pushed to `errors`, naming the key and where it was set.
 */
export function validateGithub(
  value: unknown,
  path: string,
  where: Where,
  errors: string[],
  partial: boolean,
): Partial<GithubConfig> {
  if (value === undefined || value === null) return {}
  if (!isObject(value)) {
    errors.push(`${where(path)}: expected a mapping like { workflow: deploy.yml }, got ${describe(value)}`)
    return {}
  }
  const v: Raw = value
  const out: Partial<GithubConfig> = {}
  const has = (k: string): boolean => v[k] !== undefined && (!partial || v[k] !== null)
  const text = (k: keyof GithubConfig, pattern: RegExp, what: string, nullable: boolean): void => {
    if (!has(k)) return
    const x = v[k]
    if (x === null && nullable) {
      ;(out as Record<string, unknown>)[k] = null
      return
    }
    // A workflow id written as a number in YAML is a workflow id.
    const s = typeof x === 'number' && k === 'workflow' && Number.isInteger(x) && x > 0 ? String(x) : x
    if (typeof s !== 'string' || !pattern.test(s)) {
      errors.push(`${where(`${path}.${k}`)}: expected ${what}, got ${describe(x)}`)
      return
    }
    ;(out as Record<string, unknown>)[k] = k === 'api_url' ? s.replace(/\/+$/, '') : s
  }
  text('repo', REPO, 'owner/name', true)
  text('variable', VARIABLE, 'an Actions variable name', true)
  text('scope', SCOPE, 'repository or environment:<GitHub environment name>', false)
  text('workflow', WORKFLOW, 'a workflow file name (deploy.yml) or id', true)
  text('ref', REF, 'a branch name', true)
  text('api_url', URL_PATTERN, 'an http(s) URL', true)
  if (has('trigger')) {
    if (v.trigger === 'dispatch' || v.trigger === 'push') out.trigger = v.trigger
    else errors.push(`${where(`${path}.trigger`)}: expected dispatch or push, got ${describe(v.trigger)}`)
  }
  if (has('timeout_s')) {
    const t = v.timeout_s
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 86400)
      errors.push(`${where(`${path}.timeout_s`)}: expected a whole number from 1 to 86400, got ${describe(t)}`)
    else out.timeout_s = t
  }
  if (has('inputs')) {
    const inputs = v.inputs
    if (!isObject(inputs)) errors.push(`${where(`${path}.inputs`)}: expected a mapping of input: value`)
    else {
      const clean: Record<string, string> = {}
      for (const [k, x] of Object.entries(inputs)) {
        if (!/^[A-Za-z_][\w-]*$/.test(k)) errors.push(`${where(`${path}.inputs.${k}`)}: not an input name`)
        else if (typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)))
          clean[k] = String(x)
        else errors.push(`${where(`${path}.inputs.${k}`)}: expected a string, number or boolean, got ${describe(x)}`)
      }
      out.inputs = clean
    }
  }
  return out
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `${typeof v} ${JSON.stringify(v)}`
}
