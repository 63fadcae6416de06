import { readdir, readFile, stat } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { isScalar, parse, parseDocument } from 'yaml'
import { readComposeModel } from '../compose/edit.js'
import { readEnvFileModel } from '../compose/env-file.js'
import { DEFAULT_LABELS } from '../config/config.js'

// What `modelship init` learns from an app tree before it writes modelship.yaml: which compose files
// and overrides exist, which service sets the model variable and where, the env files, the Dockerfile,
// the trainer and the feedback data. Reads only.

export const DEFAULT_BUILD_ARG = 'HF_INTENT_MODEL'
export const DEFAULT_TRAINER = 'scripts/train_intent_classifier.py'
const BASE_COMPOSE = ['docker-compose.yml', 'docker-compose.yaml', 'compose.yaml', 'compose.yml']
const OVERRIDE = /^(?:docker-)?compose\.([A-Za-z0-9][\w-]*)\.ya?ml$/
const FEEDBACK = ['data/feedback.jsonl', 'feedback.jsonl', 'data/feedback.csv', 'feedback.csv']

/** One place a compose file sets the model variable. */
export interface ModelPlace {
  file: string
  kind: 'build_arg' | 'environment'
  line: number
  value: string
}

export interface InspectedEnvironment {
  name: string
  /** Compose files in -f order: the base file, then the environment's override. */
  compose: string[]
  /** The files whose model variable a release edits. */
  edit: string[]
  /** `.env.<name>`, passed as --env-file. */
  envFile?: string
  /**
   * `.env.<name>.example` when only the example exists (the real file holds secrets and is not in the
   * tree): `envFile` names the real file, which has to be copied from it first.
   */
  envFileExample?: string
  /** Whether that env file has a `<VAR>=` line (then a release edits it too). */
  envFileSetsModel: boolean
}

export interface AppTree {
  base?: string
  service?: string
  buildArg: string
  /** Every place that sets the variable in the service, across compose files. */
  places: ModelPlace[]
  environments: InspectedEnvironment[]
  dockerfile?: { file: string; declaresArg: boolean }
  trainer?: string
  feedback?: { path: string; labels: string[] }
  /** The model the tree is configured with now (the base file's, or the first override's). */
  currentModel?: string
  /** The service's `image:` when it names a registry and takes its tag from a variable: image mode fits. */
  image?: RegistryImage
  /** Things the user should know or fix, one line each. */
  notes: string[]
}

/** A service image pushed to a registry, tagged by a variable (`ghcr.io/o/app:${IMAGE_TAG:-latest}`). */
export interface RegistryImage {
  file: string
  line: number
  image: string
  registry: string
  tagVar: string
}

/**
 * `image` names a registry (its first path part is a host: has a dot or a port, or is localhost) and
 * its tag interpolates a variable: the registry and the variable, else undefined.
 */
export function registryImageOf(image: string): { registry: string; tagVar: string } | undefined {
  const slash = image.indexOf('/')
  if (slash < 0) return undefined
  const first = image.slice(0, slash)
  if (!/[.:]/.test(first) && first !== 'localhost') return undefined
  // The tag starts at the first ':' after the last '/' outside `${…}` (`${IMAGE_TAG:-latest}` has its own).
  let depth = 0
  let colon = -1
  for (let i = image.lastIndexOf('/') + 1; i < image.length && colon < 0; i++) {
    if (image.startsWith('${', i)) depth++
    else if (image[i] === '}' && depth > 0) depth--
    else if (image[i] === ':' && depth === 0) colon = i
  }
  if (colon < 0) return undefined
  const tagVar = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(image.slice(colon + 1))?.[1]
  return tagVar ? { registry: first, tagVar } : undefined
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** The variable names a section sets: map keys, or `KEY=value` / `KEY` list items. */
function keysOf(section: unknown): string[] {
  if (isObject(section)) return Object.keys(section)
  if (Array.isArray(section))
    return section.filter((v): v is string => typeof v === 'string').map((v) => v.split('=')[0]!.trim())
  return []
}

interface Candidate {
  service: string
  variable: string
  score: number
}

/** Scores each (service, variable) that looks like a model name: the default name wins, build args count double. */
function candidatesOf(doc: unknown): Candidate[] {
  const services = isObject(doc) && isObject(doc.services) ? doc.services : {}
  const out: Candidate[] = []
  for (const [service, def] of Object.entries(services)) {
    if (!isObject(def)) continue
    const build = isObject(def.build) ? keysOf(def.build.args) : []
    const runtime = keysOf(def.environment)
    for (const variable of new Set([...build, ...runtime])) {
      if (variable !== DEFAULT_BUILD_ARG && !/(^|_)MODEL(_|$)/i.test(variable)) continue
      const score =
        (variable === DEFAULT_BUILD_ARG ? 10 : 1) *
        ((build.includes(variable) ? 2 : 0) + (runtime.includes(variable) ? 1 : 0))
      out.push({ service, variable, score })
    }
  }
  return out
}

async function readText(workspace: string, file: string): Promise<string | undefined> {
  return readFile(join(workspace, file), 'utf8').catch(() => undefined)
}

function parseQuietly(text: string): unknown {
  try {
    return parse(text, { merge: true, uniqueKeys: false, logLevel: 'silent' })
  } catch {
    return undefined
  }
}

/** The label set of a JSONL feedback file (first 5 MiB): the bundled order when it is the default set. */
function labelsOf(text: string): string[] {
  const seen = new Set<string>()
  for (const line of text.slice(0, 5 * 1024 * 1024).split('\n')) {
    if (!line.trim()) continue
    try {
      const row = JSON.parse(line) as { label?: unknown }
      if (typeof row.label === 'string' && row.label.trim()) seen.add(row.label.trim())
    } catch {
      // A malformed line is the validate step's to report, with its line number.
    }
  }
  const labels = [...seen].sort()
  const isDefault = labels.length === DEFAULT_LABELS.length && DEFAULT_LABELS.every((l) => seen.has(l))
  return isDefault ? [...DEFAULT_LABELS] : labels
}

/** Reads the app tree in `workspace` (nothing is written). */
export async function inspectAppTree(workspace: string, opts: { trainer?: string } = {}): Promise<AppTree> {
  const names = await readdir(workspace)
  const notes: string[] = []
  const base = BASE_COMPOSE.find((f) => names.includes(f))
  const overrides = names
    .map((f) => ({ file: f, m: OVERRIDE.exec(f) }))
    .filter((o): o is { file: string; m: RegExpExecArray } => o.m !== null && o.m[1] !== 'override')
    .map((o) => ({ file: o.file, env: o.m[1]! }))
    .sort((a, b) => a.env.localeCompare(b.env))
  if (names.some((f) => OVERRIDE.exec(f)?.[1] === 'override')) {
    notes.push('docker-compose.override.yml is not used: with -f files docker compose does not load it')
  }

  const texts = new Map<string, string>()
  for (const file of [base, ...overrides.map((o) => o.file)]) {
    if (!file) continue
    const text = await readText(workspace, file)
    if (text !== undefined) texts.set(file, text)
  }
  const scores = new Map<string, Candidate>()
  for (const text of texts.values()) {
    for (const c of candidatesOf(parseQuietly(text))) {
      const key = `${c.service}\u0000${c.variable}`
      const prev = scores.get(key)
      scores.set(key, { ...c, score: (prev?.score ?? 0) + c.score })
    }
  }
  const best = [...scores.values()].sort((a, b) => b.score - a.score)[0]
  const buildArg = best?.variable ?? DEFAULT_BUILD_ARG
  const service = best?.service

  const places: ModelPlace[] = []
  if (service) {
    for (const [file, text] of texts) {
      try {
        for (const v of readComposeModel(text, { file, service, buildArg }))
          places.push({ file, kind: v.kind, line: v.line, value: v.value })
      } catch (e) {
        notes.push(`${file}: ${(e as Error).message.split('\n')[0]}`)
      }
    }
    const others = [...scores.values()].filter((c) => c !== best).map((c) => `${c.variable} in service ${c.service}`)
    if (others.length) notes.push(`also found ${others.join(', ')}; modelship edits ${buildArg} of ${service} only`)
  }

  const envs = overrides.length ? overrides : [{ env: 'production', file: undefined }]
  const environments: InspectedEnvironment[] = []
  for (const { env, file } of envs) {
    const compose = [base, file].filter((f): f is string => f !== undefined)
    // Edit the file in effect for each kind of place (build arg, runtime environment): the last file of
    // the merge that sets it. The environment's own override where it sets both; the shared base file
    // too when it alone sets one of them (else that one would keep the old model).
    const inEffect = (kind: string): string | undefined =>
      compose.filter((f) => places.some((p) => p.file === f && p.kind === kind)).at(-1)
    const edit = compose.filter((f) => f === inEffect('build_arg') || f === inEffect('environment'))
    if (base && edit.includes(base) && overrides.length > 1) {
      notes.push(`${env}: ${base} sets the model for every environment; releasing ${env} changes it there too`)
    }
    // The real env file often holds secrets and is kept out of the repo, with a `.example` beside it.
    const envFileExample =
      !names.includes(`.env.${env}`) && names.includes(`.env.${env}.example`) ? `.env.${env}.example` : undefined
    const envFile = names.includes(`.env.${env}`) || envFileExample ? `.env.${env}` : undefined
    let envFileSetsModel = false
    if (envFile) {
      const read = envFileExample ?? envFile
      const text = (await readText(workspace, read)) ?? ''
      try {
        envFileSetsModel = readEnvFileModel(text, buildArg, read).length > 0
      } catch (e) {
        notes.push(`${read}: ${(e as Error).message.split('\n')[0]}`)
      }
    }
    environments.push({
      name: env,
      compose,
      edit: edit.length ? edit : compose.slice(-1),
      envFileSetsModel,
      ...(envFile ? { envFile } : {}),
      ...(envFileExample ? { envFileExample } : {}),
    })
  }
  for (const name of names) {
    const other = /^\.env\.([A-Za-z0-9][\w-]*)\.example$/.exec(name)?.[1]
    if (other && !environments.some((e) => e.name === other)) {
      notes.push(
        `${name}: no compose override names an environment ${other}; add environments.${other} by hand if it deploys`,
      )
    }
  }

  const dockerfile = await findDockerfile(workspace, base ? texts.get(base) : undefined, service, buildArg)
  if (dockerfile && !dockerfile.declaresArg)
    notes.push(`${dockerfile.file} has no \`ARG ${buildArg}\`: the build arg will not reach the image`)
  if (!dockerfile) notes.push('no Dockerfile found: `docker compose build` needs one')

  const trainer = opts.trainer ?? ((await exists(join(workspace, DEFAULT_TRAINER))) ? DEFAULT_TRAINER : undefined)
  let feedback: AppTree['feedback']
  for (const path of FEEDBACK) {
    const text = await readText(workspace, path)
    if (text === undefined) continue
    feedback = { path, labels: path.endsWith('.jsonl') ? labelsOf(text) : [] }
    break
  }
  const currentModel = places.find((p) => p.file === base)?.value ?? places[0]?.value
  const image = service ? registryImageIn(texts, service) : undefined
  return {
    ...(base ? { base } : {}),
    ...(service ? { service } : {}),
    buildArg,
    places,
    environments,
    ...(dockerfile ? { dockerfile } : {}),
    ...(trainer ? { trainer } : {}),
    ...(feedback ? { feedback } : {}),
    ...(currentModel ? { currentModel } : {}),
    ...(image ? { image } : {}),
    notes,
  }
}

/**
 * The service's `image:` as the files merge it (the last that sets it), when it is a registry image with a tag
 * variable.
 */
function registryImageIn(texts: ReadonlyMap<string, string>, service: string): RegistryImage | undefined {
  let found: { file: string; line: number; image: string } | undefined
  for (const [file, text] of texts) {
    const doc = parseDocument(text, { merge: true, uniqueKeys: false, logLevel: 'silent' })
    const node = doc.getIn(['services', service, 'image'], true)
    if (!isScalar(node) || typeof node.value !== 'string') continue
    found = { file, line: text.slice(0, node.range?.[0] ?? 0).split('\n').length, image: node.value }
  }
  const parts = found ? registryImageOf(found.image) : undefined
  return found && parts ? { ...found, ...parts } : undefined
}

/** The service's Dockerfile (its build context and `dockerfile:`), else `./Dockerfile`. */
async function findDockerfile(
  workspace: string,
  baseText: string | undefined,
  service: string | undefined,
  buildArg: string,
) {
  const doc = baseText === undefined ? undefined : parseQuietly(baseText)
  const def = service && isObject(doc) && isObject(doc.services) ? doc.services[service] : undefined
  const build = isObject(def) ? def.build : undefined
  const context =
    typeof build === 'string' ? build : isObject(build) && typeof build.context === 'string' ? build.context : '.'
  const name = isObject(build) && typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile'
  const file = posix.normalize(posix.join(context, name))
  const text = await readText(workspace, file)
  if (text === undefined) return undefined
  return { file, declaresArg: new RegExp(`^\\s*ARG\\s+${buildArg}\\b`, 'm').test(text) }
}
