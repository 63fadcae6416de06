// Workflows under .github/workflows/ that build the service with the build arg from vars., secrets., env. or an
// input: there the CI build, not the compose file, decides which model ships (issue 26). Read-only.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml'
import type { Config } from '../config/config.js'
import type { Finding } from './finding.js'

export const WORKFLOW_DIR = '.github/workflows'
// Workflow files are input too: a huge one is skipped with a warning. The checks walk the parsed nodes and never
// turn the document into JS values (toJS), so an alias is never expanded: an alias bomb costs its own bytes only.
const MAX_WORKFLOW_BYTES = 1024 * 1024

export type BuildArgSource = 'vars' | 'secrets' | 'env' | 'inputs'

/** One build in a workflow that takes the build arg from somewhere CI decides. */
export interface WorkflowBuild {
  /** Workspace-relative path of the workflow file. */
  file: string
  line: number
  job: string
  how: 'docker/build-push-action' | 'docker build' | 'docker compose build'
  source: BuildArgSource
  /** The variable, secret, env or input name. */
  name: string
  /** For `env.X` set from `${{ vars.Y }}`: Y. */
  viaVariable?: string
  /** The GitHub environment of the job (where an environment variable would live). */
  environment?: string
}

interface WorkflowFile {
  file: string
  name: string
  text: string
  doc: ReturnType<typeof parseDocument>
}

/** What a workflow file says about itself: triggers, reusable workflows it calls, jobs' environments. */
interface WorkflowShape {
  file: string
  /** `on:` keys (push, workflow_dispatch, workflow_call, …). */
  triggers: string[]
  pushBranches: string[]
  /** Files (under .github/workflows/) its jobs call with `uses: ./.github/workflows/x.yml`. */
  calls: string[]
  environments: string[]
}

const EXPR = /\$\{\{\s*(vars|secrets|env|inputs|github\.event\.inputs)\.([A-Za-z_][\w-]*)/

function readWorkflows(workspace: string): { files: WorkflowFile[]; skipped: Finding[] } {
  const dir = join(workspace, WORKFLOW_DIR)
  let names: string[]
  try {
    names = readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()
  } catch {
    return { files: [], skipped: [] }
  }
  const files: WorkflowFile[] = []
  const skipped: Finding[] = []
  for (const name of names) {
    const file = `${WORKFLOW_DIR}/${name}`
    const path = join(dir, name)
    try {
      const st = statSync(path)
      if (!st.isFile()) continue
      if (st.size > MAX_WORKFLOW_BYTES) {
        skipped.push(warn(file, `skipped: ${st.size} bytes is more than a workflow file holds (limit 1 MiB)`))
        continue
      }
      const text = readFileSync(path, 'utf8')
      const doc = parseDocument(text, { uniqueKeys: false })
      const error = doc.errors[0]
      if (error) {
        skipped.push(warn(file, `skipped: not valid YAML (${error.message.split('\n')[0]})`))
        continue
      }
      files.push({ file, name, text, doc })
    } catch (e) {
      skipped.push(warn(file, `skipped: ${(e as Error).message.split('\n')[0]}`))
    }
  }
  return { files, skipped }
}

const warn = (file: string, message: string): Finding => ({ check: 'workflows', level: 'warn', message, file })

const get = (m: unknown, key: string): unknown => (isMap(m) ? m.get(key, true) : undefined)
const str = (n: unknown): string | undefined =>
  isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number') ? String(n.value) : undefined
const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length

function shapeOf(w: WorkflowFile): WorkflowShape {
  const root = w.doc.contents
  // YAML 1.1 reads a bare `on` as true: both spellings name the triggers.
  const on =
    get(root, 'on') ??
    (isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === true)?.value : undefined)
  const triggers = isMap(on)
    ? on.items.map((p) => str(p.key) ?? '').filter(Boolean)
    : isSeq(on)
      ? on.items.map(str).filter((s): s is string => Boolean(s))
      : str(on)
        ? [str(on)!]
        : []
  const branches = get(get(on, 'push'), 'branches')
  const pushBranches = isSeq(branches) ? branches.items.map(str).filter((s): s is string => Boolean(s)) : []
  const calls: string[] = []
  const environments: string[] = []
  const jobs = get(root, 'jobs')
  if (isMap(jobs))
    for (const pair of jobs.items) {
      const uses = str(get(pair.value, 'uses'))
      const m = uses ? /^\.\/\.github\/workflows\/([^@\s]+)$/.exec(uses) : null
      if (m) calls.push(m[1]!)
      const env = jobEnvironment(pair.value)
      if (env) environments.push(env)
    }
  return { file: w.name, triggers, pushBranches, calls, environments }
}

function jobEnvironment(job: unknown): string | undefined {
  const env = get(job, 'environment')
  return str(env) ?? str(get(env, 'name'))
}

/** `env:` of a step, its job and the workflow, nearest first. */
function envLookup(...maps: unknown[]): (name: string) => string | undefined {
  return (name) => {
    for (const m of maps) {
      const v = str(get(get(m, 'env'), name))
      if (v !== undefined) return v
    }
    return undefined
  }
}

/** Every build in the file that sets `buildArg` from vars., secrets., env. or an input. */
function buildsIn(w: WorkflowFile, buildArg: string, service: string): WorkflowBuild[] {
  const out: WorkflowBuild[] = []
  const root = w.doc.contents
  const jobs = get(root, 'jobs')
  if (!isMap(jobs)) return out
  for (const pair of (jobs as YAMLMap).items) {
    const job = String(str(pair.key) ?? '')
    const steps = get(pair.value, 'steps')
    if (!isSeq(steps)) continue
    const environment = jobEnvironment(pair.value)
    for (const step of steps.items) {
      const lookup = envLookup(step, pair.value, root)
      const uses = str(get(step, 'uses'))
      const push = (how: WorkflowBuild['how'], expr: string, at: number) => {
        const found = sourceOf(expr, lookup)
        if (!found) return
        out.push({
          file: w.file,
          line: lineAt(w.text, at),
          job,
          how,
          ...found,
          ...(environment ? { environment } : {}),
        })
      }
      if (uses?.startsWith('docker/build-push-action')) {
        const args = get(get(step, 'with'), 'build-args')
        if (!isScalar(args) || typeof args.value !== 'string' || !args.range) continue
        const body = w.text.slice(args.range[0], args.range[1])
        const m = new RegExp(`(^|[\\s,])${buildArg}=([^\\n,]*)`).exec(body)
        if (m) push('docker/build-push-action', m[2]!, args.range[0] + m.index + m[1]!.length)
        continue
      }
      const run = get(step, 'run')
      if (!isScalar(run) || typeof run.value !== 'string' || !run.range) continue
      const body = w.text.slice(run.range[0], run.range[1])
      const re = new RegExp(`--build-arg[= ]+["']?${buildArg}=(\\$\\{\\{[^}]*\\}\\}\\S*|"[^"]*"|'[^']*'|\\S+)`, 'g')
      for (let m = re.exec(body); m; m = re.exec(body)) {
        const lineStart = body.lastIndexOf('\n', m.index) + 1
        const command = commandAround(body, m.index)
        const how = /\bdocker(-|\s+)compose\b[^\n]*\bbuild\b/.test(command)
          ? 'docker compose build'
          : /\bdocker\s+(buildx\s+)?build\b/.test(command)
            ? 'docker build'
            : undefined
        if (!how) continue
        if (how === 'docker compose build' && !buildsService(command, service)) continue
        push(how, m[1]!, run.range[0] + Math.max(m.index, lineStart))
      }
    }
  }
  return out
}

/** The shell command around an offset, with backslash-continued lines joined. */
function commandAround(body: string, at: number): string {
  const lines = body.split('\n')
  let offset = 0
  let index = 0
  for (; index < lines.length; index++) {
    if (offset + lines[index]!.length >= at) break
    offset += lines[index]!.length + 1
  }
  let start = index
  while (start > 0 && lines[start - 1]!.trimEnd().endsWith('\\')) start--
  let end = index
  while (end < lines.length - 1 && lines[end]!.trimEnd().endsWith('\\')) end++
  return lines.slice(start, end + 1).join(' ')
}

/** `docker compose build [opts] [services…]`: no service named builds them all. */
function buildsService(command: string, service: string): boolean {
  const after = /\bcompose\b.*?\sbuild(\s.*|$)/.exec(command.replace(/\$\{\{[^}]*\}\}/g, 'EXPR'))?.[1] ?? ''
  const words = after.split(/\s+/).filter((w) => w && !w.startsWith('-') && !w.includes('=') && w !== '\\')
  return words.length === 0 || words.includes(service)
}

/** Where a build arg's value comes from: `${{ vars.X }}`, secrets., env. (one level), an input, or `$X` from env:. */
function sourceOf(
  expr: string,
  lookup: (name: string) => string | undefined,
): Pick<WorkflowBuild, 'source' | 'name' | 'viaVariable'> | undefined {
  const m = EXPR.exec(expr)
  if (m) {
    const kind = m[1] === 'github.event.inputs' ? 'inputs' : (m[1] as BuildArgSource)
    const name = m[2]!
    if (kind === 'env') {
      const via = EXPR.exec(lookup(name) ?? '')
      return { source: 'env', name, ...(via?.[1] === 'vars' ? { viaVariable: via[2]! } : {}) }
    }
    return { source: kind, name }
  }
  const shell = /\$\{?([A-Za-z_]\w*)/.exec(expr)
  if (shell) {
    const set = lookup(shell[1]!)
    if (set === undefined) return undefined
    const via = EXPR.exec(set)
    return { source: 'env', name: shell[1]!, ...(via?.[1] === 'vars' ? { viaVariable: via[2]! } : {}) }
  }
  return undefined
}

export interface WorkflowReport {
  builds: WorkflowBuild[]
  shapes: WorkflowShape[]
  skipped: Finding[]
}

/** Every workflow build of the service with the build arg from CI, and the shape of each workflow. */
export function scanWorkflows(config: Config): WorkflowReport {
  const { files, skipped } = readWorkflows(config.workspace)
  const builds = files.flatMap((w) => buildsIn(w, config.deploy.build_arg, config.deploy.service))
  return { builds, shapes: files.map(shapeOf), skipped }
}

/**
 * The workflow that runs a build for an environment: the file itself when something starts it, else the
 * workflow that calls it and names the environment (its file name, or a job's `environment:`).
 */
export function entryWorkflowOf(report: WorkflowReport, file: string, envName: string): WorkflowShape | undefined {
  const name = file.slice(WORKFLOW_DIR.length + 1)
  const self = report.shapes.find((s) => s.file === name)
  const callers = report.shapes.filter((s) => s.calls.includes(name))
  if (callers.length === 0) return self
  return (
    callers.find((s) => s.environments.includes(envName)) ??
    callers.find((s) => s.file.toLowerCase().includes(envName.toLowerCase())) ??
    callers[0]
  )
}

/** The settings that make releases reach the build (deploy.mode github), as `key: value` pairs. */
export function settingFor(
  build: WorkflowBuild,
  entry: WorkflowShape | undefined,
  config: Config,
  envName: string,
): Array<[key: string, value: string]> {
  const variable = build.source === 'vars' ? build.name : build.viaVariable
  const own = `environments.${envName}.github`
  const pairs: Array<[string, string]> = [['deploy.mode', 'github']]
  if (variable && variable !== config.deploy.build_arg) pairs.push(['deploy.github.variable', variable])
  if (entry) pairs.push([`${own}.workflow`, entry.file])
  if (entry && !entry.triggers.includes('workflow_dispatch') && entry.triggers.includes('push')) {
    pairs.push([`${own}.trigger`, 'push'])
    if (entry.pushBranches[0]) pairs.push([`${own}.ref`, entry.pushBranches[0]])
  }
  return pairs
}

/** The pairs as modelship.yaml spells them (nested keys), for `init` to print. */
export function settingYaml(pairs: ReadonlyArray<readonly [string, string]>): string[] {
  const lines: string[] = []
  const open: string[] = []
  for (const [key, value] of pairs) {
    const parts = key.split('.')
    let depth = 0
    while (depth < open.length && depth < parts.length - 1 && open[depth] === parts[depth]) depth++
    open.length = depth
    for (; depth < parts.length - 1; depth++) {
      lines.push(`${'  '.repeat(depth)}${parts[depth]}:`)
      open.push(parts[depth]!)
    }
    lines.push(`${'  '.repeat(depth)}${parts.at(-1)}: ${value}`)
  }
  return lines
}

/** The findings of one environment: each build, what it means in the configured mode, and the fix. */
function workflowFindings(
  config: Config,
  envName: string,
): Array<{ finding: Finding; setting?: Array<[string, string]> }> {
  const report = scanWorkflows(config)
  const findings: Array<{ finding: Finding; setting?: Array<[string, string]> }> = report.skipped.map((finding) => ({
    finding,
  }))
  const github = config.deploy.mode === 'github'
  const configuredVariable =
    config.environments[envName]?.github?.variable ?? config.deploy.github.variable ?? config.deploy.build_arg
  for (const b of report.builds) {
    const entry = entryWorkflowOf(report, b.file, envName)
    const from = `${b.source}.${b.name}${b.viaVariable ? ` (set from vars.${b.viaVariable})` : ''}`
    const called = entry && entry.file !== b.file.slice(WORKFLOW_DIR.length + 1) ? `, run by ${entry.file}` : ''
    const what =
      `${b.how} builds ${config.deploy.service} with ${config.deploy.build_arg} from ${from} (job ` +
      `${b.job}${called})`
    const variable = b.source === 'vars' ? b.name : b.viaVariable
    const at = { file: b.file, line: b.line }
    if (!variable) {
      findings.push({
        finding: {
          check: 'workflows',
          level: 'warn',
          message:
            `${what}: modelship can set an Actions variable, not ` +
            `${b.source === 'secrets' ? 'a secret' : `${b.source}.${b.name}`}, so releases never reach this build`,
          ...at,
          fix:
            `read it from a variable: ${config.deploy.build_arg}=\${{ vars.${config.deploy.build_arg} }}, then ` +
            `set deploy.mode: github`,
        },
      })
      continue
    }
    if (github && variable === configuredVariable) {
      findings.push({
        finding: {
          check: 'workflows',
          level: 'ok',
          message: `${what}: deploy.mode github sets vars.${variable}`,
          ...at,
        },
      })
      continue
    }
    const setting = settingFor(b, entry, config, envName)
    const noDispatch =
      entry && !entry.triggers.includes('workflow_dispatch')
        ? ` (or add \`workflow_dispatch:\` under \`on:\` in ${entry.file} and keep trigger: dispatch)`
        : ''
    findings.push({
      setting,
      finding: {
        check: 'workflows',
        level: 'warn',
        message: github
          ? `${what}, but deploy.github.variable is ${configuredVariable}: releases set a variable this build does ` +
            `not read`
          : `${what}: a release that edits the compose files and builds here does not reach this build, and the next ` +
            `CI run ships whatever vars.${variable} says`,
        ...at,
        fix: `set ${setting.map(([k, v]) => `${k}: ${v}`).join(', ')}${noDispatch}`,
      },
    })
  }
  return findings
}

/** The findings of one environment: each build, what it means in the configured mode, and the fix. */
export function checkWorkflows(config: Config, envName: string): Finding[] {
  return workflowFindings(config, envName).map((f) => f.finding)
}

/**
 * For `init`: the warnings of every environment (each once) and the settings that follow, merged into one
 * modelship.yaml fragment (deploy.mode once, each environment's workflow under its own key).
 */
export function ciAdvice(config: Config): { findings: Finding[]; setting: string[] } {
  const findings: Finding[] = []
  const seen = new Set<string>()
  const pairs = new Map<string, string>()
  for (const envName of Object.keys(config.environments)) {
    for (const f of workflowFindings(config, envName)) {
      if (f.finding.level !== 'warn') continue
      const key = `${f.finding.file}:${f.finding.line}:${f.finding.message}`
      if (!seen.has(key)) findings.push(f.finding)
      seen.add(key)
      for (const [k, v] of f.setting ?? []) pairs.set(k, v)
    }
  }
  const ordered = [...pairs].sort(([a], [b]) => (a.startsWith('deploy.') ? 0 : 1) - (b.startsWith('deploy.') ? 0 : 1))
  return { findings, setting: ordered.length ? settingYaml(ordered) : [] }
}
