import { isAbsolute, join, resolve } from 'node:path'
import type { Command } from '../ports/types.js'
import type { Config, EnvironmentConfig, GithubConfig } from './config.js'
import { SCHEMA, unknownKeys } from './keys.js'
import { type ConfigLayer, isObject, mergeLayers, originOf, type Raw } from './layers.js'
import { NUMERIC_SETTINGS, numberText, outOfRange, TRAINER_ARG_RANGES, type NumericRange } from './ranges.js'
import { validateGithub } from './validate-github.js'

export interface ValidationResult {
  config: Config
  errors: string[]
  warnings: string[]
}

/** Pure: checks the merged layers and returns the typed config with every problem found (key and origin named). */
export function validateConfig(layers: readonly ConfigLayer[], workspace: string): ValidationResult {
  const { merged, origins } = mergeLayers(layers)
  const errors: string[] = []
  const warnings: string[] = []
  // `gates.min_accuracy (modelship.yaml:12)`: the key, the layer it came from and, for the file, its line.
  const where = (path: string): string => {
    const origin = originOf(origins, path)
    const line = layers.find((l) => l.origin === origin)?.lines?.get(path)
    return `${path} (${origin}${line ? `:${line}` : ''})`
  }

  const str = (path: string, value: unknown, pattern?: RegExp, what?: string): string => {
    if (typeof value !== 'string' || value.trim() === '') {
      errors.push(`${where(path)}: expected a non-empty string, got ${describe(value)}`)
      return ''
    }
    if (pattern && !pattern.test(value)) errors.push(`${where(path)}: ${JSON.stringify(value)} is not ${what}`)
    return value
  }
  // Every numeric setting: finite, in its range (ranges.ts), whole where it counts something.
  const ranged = (path: string, value: unknown, range: NumericRange): number => {
    const problem = outOfRange(value, range)
    if (problem === undefined) return value as number
    errors.push(`${where(path)}: ${problem}, got ${describe(value)}`)
    return range.min
  }
  const setting = (path: string, value: unknown, key: string = path): number =>
    ranged(path, value, NUMERIC_SETTINGS[key]!)
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
        `${where(path)}: expected an argv list like [curl, -fsS, URL], got a string (modelship never runs shell ` +
          `strings)`,
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
      else if (typeof v === 'number') {
        // A known argument has its range; any other number must at least be one (not `1e400` or `.nan`).
        const range = TRAINER_ARG_RANGES[k]
        if (range) ranged(`trainer.args.${k}`, v, range)
        else if (!Number.isFinite(v))
          errors.push(`${where(`trainer.args.${k}`)}: expected a finite number, got ${describe(v)}`)
      }
    }
  }

  const gates = section('gates')
  const deploy = section('deploy')
  const mode = deploy.mode
  const DEPLOY_MODES = ['compose', 'image', 'github', 'swarm', 'none', 'auto'] as const
  const isDeployMode = (m: unknown): m is (typeof DEPLOY_MODES)[number] =>
    (DEPLOY_MODES as readonly unknown[]).includes(m)
  if (!isDeployMode(mode))
    errors.push(`${where('deploy.mode')}: expected compose, image, github, swarm, none or auto, got ${describe(mode)}`)
  const github = validateGithub(deploy.github, 'deploy.github', where, errors, false) as GithubConfig
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
          `${where(`${path}.hosts`)}: ${JSON.stringify(h)} is not a Docker context name or an ssh://user@host[:port] ` +
            `URL`,
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
          : setting(`${path}.health_timeout_s`, value.health_timeout_s, 'environments.*.health_timeout_s'),
      github:
        value.github === undefined ? undefined : validateGithub(value.github, `${path}.github`, where, errors, true),
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
      min_accuracy: setting('gates.min_accuracy', gates.min_accuracy),
      min_class_f1: setting('gates.min_class_f1', gates.min_class_f1),
      no_regression: bool('gates.no_regression', gates.no_regression),
      min_per_label: setting('gates.min_per_label', gates.min_per_label),
      eval_set: optionalPath('gates.eval_set', gates.eval_set),
    },
    deploy: {
      mode: isDeployMode(mode) ? mode : 'compose',
      image_tag: str(
        'deploy.image_tag',
        deploy.image_tag,
        /^[\w.{}-]+$/,
        'a tag template (letters, digits, . _ - and {version} {run} {sha})',
      ),
      tag_var: str('deploy.tag_var', deploy.tag_var, /^[A-Za-z_][A-Za-z0-9_]*$/, 'a variable name'),
      // Docker's stack names: what a compose project name may be (lowercase letters, digits, '_', '-').
      stack:
        deploy.stack === null || deploy.stack === undefined
          ? null
          : str('deploy.stack', deploy.stack, /^[a-z0-9][a-z0-9_-]{0,62}$/, 'a stack name (a-z, 0-9, _ and -)'),
      service: str('deploy.service', deploy.service, NAME, 'a service name'),
      build_arg: str('deploy.build_arg', deploy.build_arg, /^[A-Za-z_][A-Za-z0-9_]*$/, 'a build arg name'),
      health_timeout_s: setting('deploy.health_timeout_s', deploy.health_timeout_s),
      verify: argvOrNull('deploy.verify', deploy.verify),
      model_check: argvOrNull('deploy.model_check', deploy.model_check),
      github,
    },
    environments,
  }
  return { config, errors, warnings }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'number') return `number ${numberText(v)}`
  return `${typeof v} ${JSON.stringify(v)}`
}
