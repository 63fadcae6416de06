import { join, posix, relative, sep } from 'node:path'
import { isMap, isScalar, isSeq, type Node } from 'yaml'
import { lineColOf, readableComposeDocs } from '../compose/yaml-source.js'
import type { Config } from '../config/config.js'
import { composeConfigCommand, formatHostCommand } from '../deploy/commands.js'
import { DEFAULT_HOST } from '../deploy/host.js'
import { environmentOf } from '../environment.js'
import { isModelshipError, messageOf } from '../engine/errors.js'
import type { Shell, UserFiles } from '../ports/types.js'
import type { Finding } from './finding.js'

// Compose's own view (issue 25, item 7): modelship's checks read the files the way it understands them;
// `docker compose config --quiet` is how compose itself reads them, with the same --env-file and -f
// files a release passes. It needs the compose plugin but no engine, so it runs wherever the plugin is.
// What it finds and modelship's own checks miss: an `env_file:` entry that names a missing file
// (`.env.${APP_ENV:-development}` with APP_ENV unset), a `!override` or `!reset` compose refuses, a
// variable used in a place modelship never reads.

export const COMPOSE_CONFIG_CHECK = 'compose.config'

// How the docker CLI says it has no compose plugin (or there is no docker at all): the check is skipped.
const NO_PLUGIN =
  /is not a docker command|unknown shorthand flag: 'f'|unknown flag: --env-file|docker: command not found/

/** The quiet config command of one environment: the argv a release's compose commands share, then `config --quiet`. */
export function composeQuietConfigCommand(config: Config, envName: string) {
  const env = environmentOf(config, envName)
  const cmd = composeConfigCommand({ target: { host: DEFAULT_HOST, envFile: env.env_file, files: env.compose } })
  return { ...cmd, argv: [...cmd.argv, '--quiet'] as const }
}

export type ComposeConfigResult =
  | { status: 'ok'; command: string }
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; command: string; error: string }

/** Runs `docker compose --env-file … -f … config --quiet` for one environment; never throws. */
export async function runComposeConfig(config: Config, envName: string, sh: Shell): Promise<ComposeConfigResult> {
  const cmd = composeQuietConfigCommand(config, envName)
  const command = formatHostCommand(cmd)
  try {
    await sh.read(cmd.argv, { env: cmd.env })
    return { status: 'ok', command }
  } catch (e) {
    const error = (isModelshipError(e) && e.details) || messageOf(e)
    if (NO_PLUGIN.test(error) || NO_PLUGIN.test(messageOf(e))) {
      const said = NO_PLUGIN.exec(error)?.[0] ?? NO_PLUGIN.exec(messageOf(e))?.[0]
      return { status: 'skipped', reason: `no docker compose plugin here (docker: ${said})` }
    }
    return { status: 'failed', command, error: relativeTo(config.workspace, error) }
  }
}

/**
 * One finding per environment: ok, the failure with its fix (`level` for the environment the run is
 * about; other environments' failures are warnings), or that the check was skipped without the plugin.
 */
export async function checkComposeConfig(o: {
  config: Config
  /** The environment the command is about: its failure is `level`. */
  envName: string
  /** Every environment to run it for (doctor: all of them; preflight: the run's). */
  envNames: readonly string[]
  sh: Shell
  files: UserFiles
  level: 'error' | 'warn'
}): Promise<Finding[]> {
  const results = await Promise.all(o.envNames.map((name) => runComposeConfig(o.config, name, o.sh)))
  const skipped = results.find((r) => r.status === 'skipped')
  if (skipped) {
    return [
      {
        check: COMPOSE_CONFIG_CHECK,
        level: 'ok',
        message: `skipped: ${skipped.reason}; compose's own view of the files (docker compose config) was not checked`,
      },
    ]
  }
  const findings: Finding[] = []
  for (const [i, result] of results.entries()) {
    const name = o.envNames[i]!
    if (result.status === 'ok') {
      findings.push({ check: COMPOSE_CONFIG_CHECK, level: 'ok', message: `${name}: \`${result.command}\` passes` })
    } else if (result.status === 'failed') {
      findings.push({
        ...(await explainFailure(o.config, name, result.error, o.files)),
        check: COMPOSE_CONFIG_CHECK,
        level: name === o.envName ? o.level : 'warn',
      })
    }
  }
  return findings
}

/**
 * Drops a compose.config failure that only repeats a required variable modelship's own check names
 * already (`${VAR:?…} is required`), so preflight says it once.
 */
export function withoutRepeats(configFindings: readonly Finding[], others: readonly Finding[]): Finding[] {
  return configFindings.filter((f) => {
    const variable = /required variable ([A-Za-z_][A-Za-z0-9_]*) is missing/.exec(f.message)?.[1]
    return !variable || !others.some((x) => x.check === 'compose.variables' && x.message.includes(`\${${variable}:`))
  })
}

type Explained = Pick<Finding, 'message' | 'fix' | 'file' | 'line'>

async function explainFailure(config: Config, envName: string, error: string, files: UserFiles): Promise<Explained> {
  const env = environmentOf(config, envName)
  const first = firstLine(error)
  const message = `${envName}: docker compose config fails: ${first}`
  const envFileHint = env.env_file.length > 0 ? env.env_file.at(-1)! : undefined
  const whereToSet = (variable: string, value = '…') =>
    envFileHint
      ? `add ${variable}=${value} to ${envFileHint} (environments.${envName}.env_file, passed as --env-file) or set ` +
        `it in the environment`
      : `put ${variable}=${value} in an env file listed under environments.${envName}.env_file, or set it in the ` +
        `environment`

  const missingEnvFile = /env file (\S+) not found/.exec(first)?.[1]
  if (missingEnvFile) {
    const missing = posix.normalize(missingEnvFile)
    const entry = await envFileEntryNaming(config, env.compose, missing, files)
    const example = (await files.exists(join(config.workspace, `${missing}.example`)))
      ? `${missing}.example`
      : undefined
    const create = example ? `cp ${example} ${missing}` : `create ${missing}`
    if (entry?.variable) {
      // `.env.${APP_ENV:-development}`: the variable picks the file; naming the environment is the usual fix.
      const wanted = entry.raw.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-[^}]*)?\}/, envName)
      const names = (await files.exists(join(config.workspace, wanted)))
        ? `, so the entry names ${wanted} (which exists)`
        : ''
      return {
        message:
          `${envName}: docker compose config fails: env file ${missing} not found (the env_file entry ` +
          `${entry.raw} names it while ${entry.variable} is unset)`,
        fix: `${whereToSet(entry.variable, envName)}${names}; or ${create}`,
        file: entry.file,
        line: entry.line,
      }
    }
    return {
      message,
      fix: `${create}, or remove it from env_file${entry ? '' : ' in the compose files'}`,
      ...(entry ? { file: entry.file, line: entry.line } : {}),
    }
  }
  const required = /required variable ([A-Za-z_][A-Za-z0-9_]*) is missing a value/.exec(first)?.[1]
  if (required) return { message, fix: whereToSet(required) }
  return { message, fix: `run \`${formatHostCommand(composeQuietConfigCommand(config, envName))}\` to see all of it` }
}

interface EnvFileEntry {
  file: string
  line: number
  raw: string
  variable?: string
}

/** The `env_file:` entry (any service) that names `missing`: as written, or with its `${VAR:-default}` defaults. */
async function envFileEntryNaming(
  config: Config,
  composeFiles: readonly string[],
  missing: string,
  files: UserFiles,
): Promise<EnvFileEntry | undefined> {
  for (const { file, text, doc } of (await readableComposeDocs(config.workspace, composeFiles, files)).reverse()) {
    const services = doc.get('services', true)
    if (!isMap(services)) continue
    for (const pair of services.items) {
      const def = pair.value
      if (!isMap(def)) continue
      for (const node of entriesOf(def.get('env_file', true) as Node | undefined)) {
        const raw = String(node.value)
        const withDefaults = raw.replace(
          /\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g,
          (_, d: string | undefined) => d ?? '',
        )
        const dir = posix.dirname(file)
        if (posix.normalize(posix.join(dir, withDefaults)) !== missing && posix.normalize(withDefaults) !== missing)
          continue
        const variable = /\$\{([A-Za-z_][A-Za-z0-9_]*)/.exec(raw)?.[1]
        const line = lineColOf(text, node.range?.[0] ?? 0).line
        return { file, line, raw, ...(variable ? { variable } : {}) }
      }
    }
  }
  return undefined
}

/** The path scalars of an `env_file:` value: a string, a list of strings, or a list of `{ path: … }`. */
function entriesOf(node: Node | undefined): Array<Node & { value: unknown }> {
  if (isScalar(node)) return [node]
  if (!isSeq(node)) return []
  return node.items.flatMap((item) => {
    if (isScalar(item)) return [item]
    if (isMap(item)) {
      const path = item.get('path', true)
      return isScalar(path) ? [path] : []
    }
    return []
  })
}

/** Compose names files by absolute path; the workspace's own are shown relative to it. */
function relativeTo(workspace: string, text: string): string {
  return text.replace(/(?:\/[^\s:'"]+)+/g, (p) => {
    const rel = relative(workspace, p)
    return rel.startsWith('..') || rel === '' ? p : rel.split(sep).join('/')
  })
}

const firstLine = (s: string): string =>
  s
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim() ?? s
