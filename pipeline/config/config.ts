import { readFileSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'
import { isMap, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml'
import { ModelshipError } from '../engine/errors.js'
import type { Command } from '../ports/types.js'

export type DeployMode = 'compose' | 'image' | 'none' | 'auto'
export type RegistryKind = 'hf' | 'local'

export interface EnvironmentConfig {
  /** Compose files passed as -f, in order (relative to the workspace). */
  compose: string[]
  /** Files whose build arg is edited; default the last compose file. */
  edit: string[]
  /** .env-style files holding HF_INTENT_MODEL=… */
  env_files: string[]
  /** Passed as `--env-file` to every docker compose command of this environment, in order; used to interpolate when reading. */
  env_file: string[]
  /** Docker context names or ssh://user@host[:port] URLs; empty: the current context. */
  hosts: string[]
  /**
   * Per-environment overrides of deploy.verify / model_check / health_timeout_s (null or absent: not
   * overridden; false: none for this environment, whatever deploy.* says).
   */
  verify: Command | false | null | undefined
  model_check: Command | false | null | undefined
  health_timeout_s: number | undefined
}

/** The validated configuration (keys as in modelship.yaml). Secrets are not part of it. */
export interface Config {
  workspace: string
  model: {
    org: string
    prefix: string
    labels: string[]
    base_aliases: string[]
    base_model: string
    license: string | null
  }
  /** Allow editing compose/env files that are symlinks to targets outside the workspace. */
  allow_outside_workspace: boolean
  registry: RegistryKind
  /** The local registry's store directory (absolute). */
  registry_dir: string
  /** The Hub endpoint, without a trailing slash. */
  hf_endpoint: string
  feedback: { source: string; query: string | null }
  trainer: {
    command: Command
    args: Record<string, string | number | boolean>
    exclude: string[]
    evaluate: Command | null
  }
  gates: {
    min_accuracy: number
    min_class_f1: number
    no_regression: boolean
    min_per_label: number
    eval_set: string | null
  }
  deploy: {
    mode: DeployMode
    /** image mode: the tag template ({version}, {run}, {sha}). */
    image_tag: string
    /** image mode: the compose variable in the service's `image:` tag. */
    tag_var: string
    service: string
    build_arg: string
    health_timeout_s: number
    verify: Command | null
    model_check: Command | null
  }
  environments: Record<string, EnvironmentConfig>
}

export const DEFAULT_LABELS = [
  'chitchat',
  'theoretical_definition',
  'technical_research',
  'calculator',
  'normative_reference',
]
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co'

/** The defaults layer, as modelship.yaml would spell it. */
export function defaultConfig(): Record<string, unknown> {
  return {
    model: {
      org: 'pratikoai',
      prefix: 'intent-classifier',
      labels: [...DEFAULT_LABELS],
      base_aliases: ['mdeberta', 'bart'],
      base_model: 'MoritzLaurer/mDeBERTa-v3-base-mnli-xnli',
      license: null,
    },
    registry: 'hf',
    allow_outside_workspace: false,
    registry_dir: '.modelship/registry',
    hf_endpoint: DEFAULT_HF_ENDPOINT,
    feedback: { source: './data/feedback.jsonl', query: null },
    trainer: {
      command: ['python3', 'scripts/train_intent_classifier.py'],
      args: { epochs: 5 },
      exclude: [],
      evaluate: null,
    },
    gates: { min_accuracy: 0.9, min_class_f1: 0.85, no_regression: true, min_per_label: 1, eval_set: null },
    deploy: {
      mode: 'compose',
      image_tag: 'model-{version}',
      tag_var: 'IMAGE_TAG',
      service: 'app',
      build_arg: 'HF_INTENT_MODEL',
      health_timeout_s: 120,
      verify: null,
      model_check: null,
    },
    environments: {
      production: {
        compose: ['docker-compose.yml', 'docker-compose.production.yml'],
        edit: ['docker-compose.production.yml'],
      },
      qa: { compose: ['docker-compose.yml', 'docker-compose.qa.yml'] },
    },
  }
}

/** Which environment variables feed which config keys (the env layer). `.env.example` lists them all. */
export const ENV_KEYS: ReadonlyArray<readonly [envVar: string, path: readonly string[]]> = [
  ['HF_ORG', ['model', 'org']],
  ['HF_REPO_PREFIX', ['model', 'prefix']],
  ['MODELSHIP_REGISTRY', ['registry']],
  ['MODELSHIP_REGISTRY_DIR', ['registry_dir']],
  ['HF_ENDPOINT', ['hf_endpoint']],
  ['FEEDBACK_SOURCE', ['feedback', 'source']],
]

export interface ConfigLayer {
  /** Where the values come from, for error messages: "modelship.yaml", "environment", "--flag". */
  origin: string
  values: Record<string, unknown>
  /** The line of each key path in the file the layer came from (for `modelship.yaml:12`). */
  lines?: ReadonlyMap<string, number>
}

/**
 * Every key modelship knows, at every depth (`*`: any name; `{}`: free-form mapping). A key not here is
 * an error naming the closest known one: a misspelled `model_check` must not silently disable a check.
 */
const SCHEMA: Schema = {
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
    service: 1,
    build_arg: 1,
    health_timeout_s: 1,
    verify: 1,
    model_check: 1,
  },
  environments: {
    '*': { compose: 1, edit: 1, env_files: 1, env_file: 1, hosts: 1, verify: 1, model_check: 1, health_timeout_s: 1 },
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
function unknownKeys(values: Raw, schema: Schema, path: string, out: string[]): void {
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

export interface ValidationResult {
  config: Config
  errors: string[]
  warnings: string[]
}

type Raw = Record<string, unknown>

function isObject(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Deep merge: later layers win; arrays and scalars are replaced, objects merged. Each key remembers its origin. */
export function mergeLayers(layers: readonly ConfigLayer[]): { merged: Raw; origins: Map<string, string> } {
  const origins = new Map<string, string>()
  const mergeInto = (target: Raw, source: Raw, origin: string, path: string): void => {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue
      const keyPath = path ? `${path}.${key}` : key
      // A file's `environments` replaces the default ones: an app with production and staging must not
      // also get a default qa pointing at files it does not have.
      const replaces = keyPath === 'environments' && origin !== 'defaults'
      if (isObject(value) && isObject(target[key]) && !replaces) {
        mergeInto(target[key] as Raw, value, origin, keyPath)
      } else {
        target[key] = isObject(value) ? structuredClone(value) : value
        origins.set(keyPath, origin)
        if (isObject(value)) markOrigins(value, origin, keyPath, origins)
      }
    }
  }
  const merged: Raw = {}
  for (const layer of layers) mergeInto(merged, layer.values, layer.origin, '')
  return { merged, origins }
}

function markOrigins(value: Raw, origin: string, path: string, origins: Map<string, string>): void {
  for (const [k, v] of Object.entries(value)) {
    origins.set(`${path}.${k}`, origin)
    if (isObject(v)) markOrigins(v, origin, `${path}.${k}`, origins)
  }
}

/** Pure: checks the merged layers and returns the typed config with every problem found (key and origin named). */
export function validateConfig(layers: readonly ConfigLayer[], workspace: string): ValidationResult {
  const { merged, origins } = mergeLayers(layers)
  const errors: string[] = []
  const warnings: string[] = []
  const where = (path: string): string => `${path} (${originOf(origins, path)})`

  const str = (path: string, value: unknown, pattern?: RegExp, what?: string): string => {
    if (typeof value !== 'string' || value.trim() === '') {
      errors.push(`${where(path)}: expected a non-empty string, got ${describe(value)}`)
      return ''
    }
    if (pattern && !pattern.test(value)) errors.push(`${where(path)}: ${JSON.stringify(value)} is not ${what}`)
    return value
  }
  const num = (path: string, value: unknown, min: number, max: number): number => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      errors.push(`${where(path)}: expected a number from ${min} to ${max}, got ${describe(value)}`)
      return min
    }
    return value
  }
  const int = (path: string, value: unknown, min: number, max: number): number => {
    const n = num(path, value, min, max)
    if (!Number.isInteger(n)) errors.push(`${where(path)}: expected a whole number, got ${n}`)
    return n
  }
  const bool = (path: string, value: unknown): boolean => {
    if (typeof value !== 'boolean') {
      errors.push(`${where(path)}: expected true or false, got ${describe(value)}`)
      return false
    }
    return value
  }
  const strList = (path: string, value: unknown, { nonEmpty = true } = {}): string[] => {
    if (
      !Array.isArray(value) ||
      value.some((v) => typeof v !== 'string' || v === '') ||
      (nonEmpty && value.length === 0)
    ) {
      errors.push(`${where(path)}: expected a ${nonEmpty ? 'non-empty ' : ''}list of strings, got ${describe(value)}`)
      return []
    }
    return value as string[]
  }
  // A non-empty list of strings is a command. When it is not, strList recorded the error (loadConfig
  // throws it) and the placeholder is never run.
  const argv = (path: string, value: unknown): Command => {
    const [bin, ...args] = strList(path, value)
    return bin === undefined ? [''] : [bin, ...args]
  }
  const argvOrNull = (path: string, value: unknown): Command | null => {
    if (value === null || value === undefined) return null
    if (typeof value === 'string') {
      errors.push(
        `${where(path)}: expected an argv list like [curl, -fsS, URL], got a string (modelship never runs shell strings)`,
      )
      return null
    }
    return argv(path, value)
  }
  // An environment's verify/model_check: absent or null keeps deploy.*, false turns it off here, else an argv.
  const envCommand = (path: string, value: unknown): Command | false | null | undefined =>
    value === undefined ? undefined : value === false ? false : argvOrNull(path, value)
  const section = (key: string): Raw => {
    const v = merged[key]
    if (!isObject(v)) {
      errors.push(`${where(key)}: expected a mapping, got ${describe(v)}`)
      return {}
    }
    return v
  }
  for (const layer of layers) {
    const found: string[] = []
    unknownKeys(layer.values, SCHEMA, '', found)
    for (const problem of found) {
      const keyPath = problem.slice(0, problem.indexOf(':'))
      const line = layer.lines?.get(keyPath)
      errors.push(`${layer.origin}${line ? `:${line}` : ''}: ${problem}`)
    }
  }

  const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
  const model = section('model')
  const labels = strList('model.labels', model.labels)
  if (new Set(labels).size !== labels.length) errors.push(`${where('model.labels')}: labels must be unique`)
  for (const l of labels)
    if (!/^[A-Za-z0-9_][\w.-]*$/.test(l))
      errors.push(`${where('model.labels')}: ${JSON.stringify(l)} is not a label name`)
  const baseAliases = strList('model.base_aliases', model.base_aliases, { nonEmpty: false })
  for (const a of baseAliases)
    if (!NAME.test(a) || a.includes('/'))
      errors.push(`${where('model.base_aliases')}: ${JSON.stringify(a)} is not an alias name`)

  const registry = merged.registry
  if (registry !== 'hf' && registry !== 'local')
    errors.push(`${where('registry')}: expected hf or local, got ${describe(registry)}`)

  const hfEndpoint = str('hf_endpoint', merged.hf_endpoint, /^https?:\/\/[^\s]+$/, 'an http(s) URL').replace(/\/+$/, '')

  const feedback = section('feedback')
  const query = feedback.query ?? null
  if (query !== null && (typeof query !== 'string' || query.trim() === ''))
    errors.push(`${where('feedback.query')}: expected SQL text or null, got ${describe(query)}`)

  const trainer = section('trainer')
  const trainerArgs = trainer.args ?? {}
  if (!isObject(trainerArgs))
    errors.push(`${where('trainer.args')}: expected a mapping like { epochs: 5 }, got ${describe(trainerArgs)}`)
  else {
    for (const [k, v] of Object.entries(trainerArgs)) {
      if (!/^[a-z][a-z0-9_-]*$/i.test(k)) errors.push(`${where(`trainer.args.${k}`)}: not a flag name`)
      if (k === 'data' || k === 'output') errors.push(`${where(`trainer.args.${k}`)}: --${k} is set by modelship`)
      if (!['string', 'number', 'boolean'].includes(typeof v))
        errors.push(`${where(`trainer.args.${k}`)}: expected a string, number or boolean, got ${describe(v)}`)
    }
  }

  const gates = section('gates')
  const deploy = section('deploy')
  const mode = deploy.mode
  if (mode !== 'compose' && mode !== 'image' && mode !== 'none' && mode !== 'auto')
    errors.push(`${where('deploy.mode')}: expected compose, image, none or auto, got ${describe(mode)}`)
  const optionalPath = (path: string, value: unknown): string | null =>
    value === null || value === undefined ? null : str(path, value)
  const oneOrMany = (path: string, value: unknown): string[] =>
    value === null || value === undefined
      ? []
      : typeof value === 'string'
        ? [str(path, value)]
        : strList(path, value, { nonEmpty: false })
  const HOST = /^(ssh:\/\/[^\s/]+|[A-Za-z0-9][\w.-]*)$/

  const envs = section('environments')
  const environments: Record<string, EnvironmentConfig> = {}
  for (const [name, value] of Object.entries(envs)) {
    const path = `environments.${name}`
    if (!NAME.test(name)) errors.push(`${where(path)}: ${JSON.stringify(name)} is not an environment name`)
    if (!isObject(value)) {
      errors.push(`${where(path)}: expected a mapping with compose: [files], got ${describe(value)}`)
      continue
    }
    const compose = strList(`${path}.compose`, value.compose)
    const edit =
      value.edit === undefined || value.edit === null ? compose.slice(-1) : strList(`${path}.edit`, value.edit)
    const envFiles =
      value.env_files === undefined || value.env_files === null
        ? []
        : strList(`${path}.env_files`, value.env_files, { nonEmpty: false })
    const envFile = oneOrMany(`${path}.env_file`, value.env_file)
    for (const f of [...compose, ...edit, ...envFiles, ...envFile]) {
      if (isAbsolute(f) || f.split(/[\\/]/).includes('..'))
        errors.push(`${where(path)}: ${JSON.stringify(f)} must be a path inside the workspace`)
    }
    const hosts = oneOrMany(`${path}.hosts`, value.hosts)
    for (const h of hosts)
      if (!HOST.test(h))
        errors.push(
          `${where(`${path}.hosts`)}: ${JSON.stringify(h)} is not a Docker context name or an ssh://user@host[:port] URL`,
        )
    environments[name] = {
      compose,
      edit,
      env_files: envFiles,
      env_file: envFile,
      hosts,
      verify: envCommand(`${path}.verify`, value.verify),
      model_check: envCommand(`${path}.model_check`, value.model_check),
      health_timeout_s:
        value.health_timeout_s === undefined || value.health_timeout_s === null
          ? undefined
          : num(`${path}.health_timeout_s`, value.health_timeout_s, 0, 86400),
    }
  }
  if (Object.keys(environments).length === 0 && isObject(envs))
    errors.push(`${where('environments')}: at least one environment is needed`)

  const registryDir = str('registry_dir', merged.registry_dir)
  const config: Config = {
    workspace,
    model: {
      org: str('model.org', model.org, /^[A-Za-z0-9][\w.-]*$/, 'an org name'),
      prefix: str('model.prefix', model.prefix, /^[A-Za-z0-9][\w.-]*$/, 'a repo name prefix'),
      labels,
      base_aliases: baseAliases,
      base_model: str('model.base_model', model.base_model),
      license: optionalPath('model.license', model.license),
    },
    allow_outside_workspace: bool('allow_outside_workspace', merged.allow_outside_workspace),
    registry: registry === 'local' ? 'local' : 'hf',
    registry_dir: registryDir ? resolve(workspace, registryDir) : join(workspace, '.modelship', 'registry'),
    hf_endpoint: hfEndpoint,
    feedback: { source: str('feedback.source', feedback.source), query: typeof query === 'string' ? query : null },
    trainer: {
      command: argv('trainer.command', trainer.command),
      args: isObject(trainerArgs) ? (trainerArgs as Record<string, string | number | boolean>) : {},
      exclude: strList('trainer.exclude', trainer.exclude ?? [], { nonEmpty: false }),
      evaluate: argvOrNull('trainer.evaluate', trainer.evaluate),
    },
    gates: {
      min_accuracy: num('gates.min_accuracy', gates.min_accuracy, 0, 1),
      min_class_f1: num('gates.min_class_f1', gates.min_class_f1, 0, 1),
      no_regression: bool('gates.no_regression', gates.no_regression),
      min_per_label: int('gates.min_per_label', gates.min_per_label, 1, 1e9),
      eval_set: optionalPath('gates.eval_set', gates.eval_set),
    },
    deploy: {
      mode: mode === 'none' || mode === 'auto' || mode === 'image' ? mode : 'compose',
      image_tag: str(
        'deploy.image_tag',
        deploy.image_tag,
        /^[\w.{}-]+$/,
        'a tag template (letters, digits, . _ - and {version} {run} {sha})',
      ),
      tag_var: str('deploy.tag_var', deploy.tag_var, /^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'),
      service: str('deploy.service', deploy.service, NAME, 'a service name'),
      build_arg: str('deploy.build_arg', deploy.build_arg, /^[A-Za-z_][A-Za-z0-9_]*$/, 'a build arg name'),
      health_timeout_s: num('deploy.health_timeout_s', deploy.health_timeout_s, 0, 86400),
      verify: argvOrNull('deploy.verify', deploy.verify),
      model_check: argvOrNull('deploy.model_check', deploy.model_check),
    },
    environments,
  }
  return { config, errors, warnings }
}

function originOf(origins: Map<string, string>, path: string): string {
  let p = path
  for (;;) {
    const o = origins.get(p)
    if (o) return o
    const dot = p.lastIndexOf('.')
    if (dot < 0) return 'defaults'
    p = p.slice(0, dot)
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `${typeof v} ${JSON.stringify(v)}`
}

/** The env layer: only variables that are set and non-empty. */
export function envLayer(env: Readonly<Record<string, string | undefined>>): ConfigLayer {
  const values: Raw = {}
  for (const [name, path] of ENV_KEYS) {
    const v = env[name]
    if (v === undefined || v === '') continue
    let cursor = values
    for (const key of path.slice(0, -1)) cursor = (cursor[key] ??= {}) as Raw
    cursor[path.at(-1)!] = v
  }
  return { origin: 'environment', values }
}

/** Reads `<workspace>/modelship.yaml` (optional). YAML errors name the file, line and column. */
export async function readConfigFile(workspace: string): Promise<ConfigLayer | undefined> {
  const path = join(workspace, 'modelship.yaml')
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ModelshipError('CONFIG', `${path}: cannot read (${(e as Error).message})`)
  }
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { prettyErrors: true, customTags: [], lineCounter })
  const first = doc.errors[0]
  if (first) {
    const pos = first.linePos?.[0]
    const at = pos ? `:${pos.line}:${pos.col}` : ''
    throw new ModelshipError('CONFIG', `${path}${at}: YAML error: ${first.message.split('\n')[0]}`)
  }
  const values = doc.toJS() ?? {}
  if (!isObject(values)) throw new ModelshipError('CONFIG', `${path}: expected a mapping at the top level`)
  const lines = new Map<string, number>()
  const walk = (node: YamlNode | null | undefined, prefix: string): void => {
    if (!isMap(node)) return
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue
      const keyPath = prefix ? `${prefix}.${String(pair.key.value)}` : String(pair.key.value)
      if (pair.key.range) lines.set(keyPath, lineCounter.linePos(pair.key.range[0]).line)
      walk(pair.value as YamlNode | null, keyPath)
    }
  }
  walk(doc.contents as YamlNode | null, '')
  return { origin: 'modelship.yaml', values, lines }
}

/** Builds and validates the config from all layers; throws CONFIG with every error (one per line). */
export async function loadConfig(opts: {
  workspace: string
  env: Readonly<Record<string, string | undefined>>
  flags?: Record<string, unknown>
  warn?: (message: string) => void
}): Promise<Config> {
  const file = await readConfigFile(opts.workspace)
  const layers: ConfigLayer[] = [{ origin: 'defaults', values: defaultConfig() }]
  if (file) layers.push(file)
  layers.push(envLayer(opts.env))
  if (opts.flags && Object.keys(opts.flags).length > 0) layers.push({ origin: 'command line', values: opts.flags })
  const { config, errors, warnings } = validateConfig(layers, opts.workspace)
  for (const w of warnings) opts.warn?.(w)
  if (errors.length > 0) {
    const [first, ...rest] = errors
    throw new ModelshipError(
      'CONFIG',
      `invalid configuration: ${first}`,
      rest.length ? { details: rest.join('\n') } : {},
    )
  }
  return config
}
