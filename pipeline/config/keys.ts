// Every key modelship knows: a key not in the schema is an error naming the closest known one.
import { isObject, type Raw } from './layers.js'

/**
 * Every key modelship knows, at every depth (`*`: any name; `{}`: free-form mapping). A key not here is
 * an error naming the closest known one: a misspelled `model_check` must not silently disable a check.
 */
const GITHUB_KEYS: Schema = {
  repo: 1,
  variable: 1,
  scope: 1,
  workflow: 1,
  ref: 1,
  trigger: 1,
  inputs: {},
  timeout_s: 1,
  api_url: 1,
}

export const SCHEMA: Schema = {
  model: { org: 1, prefix: 1, labels: 1, base_aliases: 1, base_model: 1, license: 1 },
  registry: 1,
  registry_dir: 1,
  hf_endpoint: 1,
  allow_outside_workspace: 1,
  feedback: { source: 1, query: 1 },
  trainer: { command: 1, args: {}, exclude: 1, evaluate: 1 },
  gates: { min_accuracy: 1, min_class_f1: 1, no_regression: 1, min_per_label: 1, eval_set: 1 },
  deploy: {
    mode: 1,
    image_tag: 1,
    tag_var: 1,
    stack: 1,
    service: 1,
    build_arg: 1,
    health_timeout_s: 1,
    verify: 1,
    model_check: 1,
    github: GITHUB_KEYS,
  },
  environments: {
    '*': {
      compose: 1,
      edit: 1,
      env_files: 1,
      env_file: 1,
      hosts: 1,
      verify: 1,
      model_check: 1,
      health_timeout_s: 1,
      github: GITHUB_KEYS,
    },
  },
}
type Schema = { [key: string]: Schema | 1 }

/** The edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = cur
    }
  }
  return row[b.length]!
}

export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const k of known) {
    const d = distance(key.toLowerCase(), k)
    if (d < bestD) [best, bestD] = [k, d]
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/** Every unknown key of a layer, at any depth, as `path: unknown key (did you mean …?)`. */
export function unknownKeys(values: Raw, schema: Schema, path: string, out: string[]): void {
  for (const [key, value] of Object.entries(values)) {
    const keyPath = path ? `${path}.${key}` : key
    const sub = schema[key] ?? schema['*']
    if (sub === undefined) {
      const known = Object.keys(schema).filter((k) => k !== '*')
      const near = closestKey(key, known)
      out.push(`${keyPath}: unknown key${near ? ` (did you mean ${near}?)` : ''}`)
      continue
    }
    if (sub !== 1 && Object.keys(sub).length > 0 && isObject(value)) unknownKeys(value, sub, keyPath, out)
  }
}
