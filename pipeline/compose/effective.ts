import { join } from 'node:path'
import { parse as parseDotenv } from 'dotenv'
import { isMap, isScalar, type Node, type Pair } from 'yaml'
import type { Config } from '../config/config.js'
import { composeConfigCommand } from '../deploy/commands.js'
import { DEFAULT_HOST } from '../deploy/host.js'
import { isModelshipError, messageOf } from '../engine/errors.js'
import type { ConfiguredModel } from '../environment.js'
import type { Shell, UserFiles } from '../ports/types.js'
import { type ReadableComposeDoc, readableComposeDocs } from './yaml-source.js'

// The value that wins (issue 25, item 8). Each file sets the model somewhere; what the service gets is
// what compose makes of all of them: later files over earlier ones, a `build: !override` replacing the
// whole build section, a `!reset` removing a value, `${VAR:-default}` taking VAR when it is set.
// Where the compose plugin exists, compose itself says (`docker compose config --format json`, no engine
// needed); modelship then names the file line that value comes from. Without it, modelship reads the
// files the same way, tags included.

/** One winning value: what the service gets, and where it comes from. */
export interface WinningValue {
  value: string
  /** The file line that sets it (undefined when no line does: a variable from the environment). */
  file?: string
  line?: number
  /** Where it comes from, for people: `docker-compose.production.yml:7`, `HF_INTENT_MODEL from .env.production`. */
  from: string
}

export interface EffectiveModel {
  /** Who merged the files: docker compose itself, or modelship reading them (no plugin, or compose refused them). */
  source: 'docker compose config' | 'the files'
  /** The build arg the image is built with; null when no file sets it after the merge (the Dockerfile's default). */
  build_arg: WinningValue | null
  /** The variable in the process's environment; null when nothing sets it. */
  environment: WinningValue | null
  /** Why compose was not asked, or what it said when it refused the files. */
  note?: string
}

/** A place a later file overrides, and by what (`docker-compose.production.yml:3 (build: !override)`). */
export type Overrides = Map<ConfiguredModel, string>

type Kind = 'build_arg' | 'environment'

/**
 * Which places a later compose file takes away: `build: !override`/`!reset` (or the same on `build.args`)
 * drops every earlier file's build args; `environment: !override`/`!reset` every earlier runtime entry.
 */
export async function overriddenPlaces(
  config: Config,
  composeFiles: readonly string[],
  places: readonly ConfiguredModel[],
  files: UserFiles,
): Promise<Overrides> {
  const out: Overrides = new Map()
  for (const { index, file, text, doc } of await readableComposeDocs(config.workspace, composeFiles, files)) {
    const service = ['services', config.deploy.service]
    const tagged: Array<{ kind: Kind; path: string[]; key: string }> = [
      { kind: 'build_arg', path: [...service, 'build'], key: 'build' },
      { kind: 'build_arg', path: [...service, 'build', 'args'], key: 'build.args' },
      { kind: 'environment', path: [...service, 'environment'], key: 'environment' },
    ]
    for (const { kind, path: keys, key } of tagged) {
      const pair = pairAt(doc, keys)
      const tag = tagOf(pair?.value)
      if (!pair || (tag !== '!override' && tag !== '!reset')) continue
      const line = lineOf(text, (pair.key as Node | null) ?? (pair.value as Node))
      const earlier = new Set(composeFiles.slice(0, index))
      for (const p of places) {
        if (p.kind === kind && earlier.has(p.file) && !out.has(p)) out.set(p, `${file}:${line} (${key}: ${tag})`)
      }
    }
  }
  return out
}

/** The key/value pair at `keys` (the last key's pair in its parent map), for the line of the key. */
function pairAt(doc: ReadableComposeDoc['doc'], keys: readonly string[]): Pair | undefined {
  const parent = keys.length > 1 ? doc.getIn(keys.slice(0, -1), true) : doc.contents
  if (!isMap(parent)) return undefined
  return parent.items.find((p) => isScalar(p.key) && p.key.value === keys.at(-1))
}

function tagOf(node: unknown): string | undefined {
  return node && typeof node === 'object' && 'tag' in node && typeof node.tag === 'string' ? node.tag : undefined
}

function lineOf(text: string, node: Node): number {
  const offset = node.range?.[0] ?? 0
  return text.slice(0, offset).split('\n').length
}

/** The variables compose interpolates with: the --env-file files in order, the environment over them. */
async function composeVariables(
  config: Config,
  envFiles: readonly string[],
  files: UserFiles,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ values: Record<string, string>; sourceOf: (name: string) => string }> {
  const values: Record<string, string> = {}
  const origin: Record<string, string> = {}
  for (const f of envFiles) {
    const path = join(config.workspace, f)
    if (!(await files.exists(path))) continue
    for (const [k, v] of Object.entries(parseDotenv(await files.readText(path)))) {
      values[k] = v
      origin[k] = f
    }
  }
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue
    values[k] = v
    origin[k] = 'the environment'
  }
  return { values, sourceOf: (name) => origin[name] ?? 'the environment' }
}

/** What a place gives the service once interpolated: VAR when set (`${VAR:-d}`: and not empty), else the default. */
function interpolated(p: ConfiguredModel, values: Readonly<Record<string, string>>): string {
  if (p.form === 'default' && p.variable !== undefined) {
    const v = values[p.variable]
    return v === undefined || v === '' ? p.value : v
  }
  return p.value
}

/** Names the line a winning value comes from: the last place of its kind, in -f order, that gives it. */
function attribute(
  kind: Kind,
  value: string,
  order: readonly string[],
  places: readonly ConfiguredModel[],
  overrides: Overrides,
  vars: { values: Record<string, string>; sourceOf: (name: string) => string },
): WinningValue {
  const live = places.filter((p) => p.kind === kind && !overrides.has(p))
  for (const file of [...order].reverse()) {
    const hit = live.filter((p) => p.file === file && interpolated(p, vars.values) === value).at(-1)
    if (!hit) continue
    const viaVariable = hit.form === 'default' && hit.variable !== undefined && value !== hit.value
    const from = viaVariable
      ? `${hit.variable} from ${vars.sourceOf(hit.variable!)} (through ${hit.file}:${hit.line})`
      : `${hit.file}:${hit.line}`
    return { value, file: hit.file, line: hit.line, from }
  }
  // Not on any line modelship reads: the service's env_file, an anchor compose resolved, or a file outside -f.
  return {
    value,
    from:
      kind === 'environment' ? 'an env_file of the service (or no line modelship reads)' : 'no line modelship reads',
  }
}

/** The winner modelship reads from the files: per kind, the last place in -f order that no later file overrides. */
function fromFiles(
  order: readonly string[],
  places: readonly ConfiguredModel[],
  overrides: Overrides,
  vars: { values: Record<string, string>; sourceOf: (name: string) => string },
): Pick<EffectiveModel, 'build_arg' | 'environment'> {
  const pick = (kind: Kind): WinningValue | null => {
    for (const file of [...order].reverse()) {
      const hit = places.filter((p) => p.kind === kind && p.file === file && !overrides.has(p)).at(-1)
      if (hit) return attribute(kind, interpolated(hit, vars.values), order, places, overrides, vars)
    }
    return null
  }
  return { build_arg: pick('build_arg'), environment: pick('environment') }
}

/**
 * The value that wins in one environment, from `docker compose config` where the plugin answers,
 * else from the files; each with the file line it comes from.
 */
export async function readEffectiveModel(o: {
  config: Config
  envName: string
  places: readonly ConfiguredModel[]
  sh: Shell
  files: UserFiles
  /** The environment compose runs with (workspace .env under the real one, secrets removed). */
  env: Readonly<Record<string, string | undefined>>
}): Promise<EffectiveModel & { overrides: Overrides }> {
  const { config } = o
  const environment = config.environments[o.envName]!
  const order = environment.compose
  const overrides = await overriddenPlaces(config, order, o.places, o.files)
  const vars = await composeVariables(config, environment.env_file, o.files, o.env)
  const { service, build_arg: buildArg } = config.deploy
  const cmd = composeConfigCommand({
    target: { host: DEFAULT_HOST, envFile: environment.env_file, files: order },
    format: 'json',
    service,
  })
  let note: string
  try {
    const merged = JSON.parse(await o.sh.read(cmd.argv, { env: cmd.env })) as unknown
    const def = (merged as { services?: Record<string, unknown> } | null)?.services?.[service]
    if (def && typeof def === 'object') {
      const { build, environment: runtime } = def as { build?: { args?: unknown }; environment?: unknown }
      const valueIn = (section: unknown): string | undefined => {
        const v = section && typeof section === 'object' ? (section as Record<string, unknown>)[buildArg] : undefined
        return typeof v === 'string' ? v : undefined
      }
      const arg = valueIn(build?.args)
      const run = valueIn(runtime)
      return {
        source: 'docker compose config',
        build_arg: arg === undefined ? null : attribute('build_arg', arg, order, o.places, overrides, vars),
        environment: run === undefined ? null : attribute('environment', run, order, o.places, overrides, vars),
        overrides,
      }
    }
    note = `docker compose config has no service ${service}`
  } catch (e) {
    const said = (isModelshipError(e) && e.details) || messageOf(e)
    const first = said.split('\n').find((l) => l.trim() !== '') ?? said
    note = /is not a docker command|unknown (shorthand )?flag|command not found/.test(said)
      ? 'no docker compose plugin here: read from the files'
      : `docker compose config failed (${first.trim()}): read from the files`
  }
  return { source: 'the files', ...fromFiles(order, o.places, overrides, vars), note, overrides }
}
