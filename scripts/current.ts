import { type EffectiveModel, readEffectiveModel } from '../pipeline/compose/effective.js'
import { type ConfiguredModel, environmentOf, readEnvironmentModels } from '../pipeline/environment.js'
import { type HostRuntime, readHostRuntimes } from '../pipeline/deploy/host-status.js'
import { driftOf } from '../pipeline/history/drift.js'
import { openWorkspace } from './workspace.js'

interface EnvironmentReport {
  model: string | null
  /** Every place that sets the model, with its kind: build_arg, environment or env_file. */
  files: Array<ConfiguredModel & { overriddenBy?: string }>
  /** The value that wins after overrides (`!override`, `!reset`, a later file), and the line it comes from. */
  effective: EffectiveModel
  /** Set when the places in effect name different models. */
  warning?: string
  /** Where the files and the audit log disagree (files restored by `git checkout`, a release not deployed). */
  drift?: string[]
  /** Servers (environments.<name>.hosts): the image tag and model each one runs now, from ps/inspect there. */
  hosts?: HostRuntime[]
}

export async function currentCommand(flags: { workspace?: string; env?: string; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const { config, files } = ws.deps
  const buildArg = config.deploy.build_arg
  const environments: Record<string, EnvironmentReport> = {}
  const history = await ws.deps.history.read()
  if (flags.env !== undefined) environmentOf(config, flags.env)
  const names = flags.env === undefined ? Object.keys(config.environments) : [flags.env]
  // Compose's view of each environment, asked side by side (one `docker compose config` each).
  const effective = await Promise.all(
    names.map(async (env) => {
      const models = await readEnvironmentModels(config, env, files)
      const view = await readEffectiveModel({
        config,
        envName: env,
        places: models.places,
        sh: ws.deps.sh,
        files,
        env: ws.deps.env ?? {},
      })
      return { models, view }
    }),
  )
  for (const [i, env] of names.entries()) {
    const { models, view } = effective[i]!
    const { overrides, ...winning } = view
    const drift = driftOf(env, models.model, history).warnings
    // Asking the servers is worth a few docker calls only where the environment names its servers.
    const hosts = config.environments[env]?.hosts.length
      ? await readHostRuntimes({ config, sh: ws.deps.sh, history }, env)
      : undefined
    environments[env] = {
      ...(hosts ? { hosts } : {}),
      model: models.model ?? null,
      files: models.places.map((p) => {
        const by = overrides.get(p)
        return by ? { ...p, overriddenBy: by } : p
      }),
      effective: winning,
      ...(models.disagreement ? { warning: models.disagreement } : {}),
      ...(drift.length ? { drift } : {}),
    }
  }
  const fromEnv = ws.env[buildArg] ?? null
  if (flags.json) {
    ws.printJson({ environments, env: { [buildArg]: fromEnv } })
  } else {
    for (const [env, info] of Object.entries(environments)) {
      ws.print(`${env}: ${info.model ?? '(not configured)'}`)
      for (const f of info.files) {
        const from = f.variable ? `  (default of \${${f.variable}})` : ''
        const overridden = f.overriddenBy ? `  [overridden by ${f.overriddenBy}]` : ''
        ws.print(`  ${f.kind.padEnd(11)} ${f.file}:${f.line}  ${f.value}${from}${overridden}`)
      }
      for (const line of winningLines(info.effective)) ws.print(`  ${line}`)
      for (const h of info.hosts ?? []) {
        const what =
          h.status === 'ok'
            ? `${h.tag ?? h.image ?? '?'} → ${h.model ?? 'model unknown'}${h.health ? `, ${h.health}` : ''}`
            : h.status === 'none'
              ? 'no container'
              : `unreachable (${h.error ?? 'error'})`
        ws.print(`  host ${h.host.padEnd(9)} ${what}`)
      }
    }
    const overrides = fromEnv ? ' — it overrides the ${VAR:-default} defaults above' : ''
    ws.print(`${buildArg} in the environment: ${fromEnv ?? '(not set)'}${overrides}`)
  }
  // With --json, print() writes to stderr: readers get clean stdout and people still see the warning.
  for (const info of Object.values(environments)) {
    if (info.warning) ws.print(`warning: ${info.warning}`)
    for (const d of info.drift ?? []) ws.print(`warning: ${d}`)
  }
  return 0
}

/** `wins (docker compose config): build arg X from file:line; environment Y from file:line` and the note, if any. */
function winningLines(e: EffectiveModel): string[] {
  const part = (what: string, w: EffectiveModel['build_arg']) =>
    w ? `${what} ${w.value} (${w.from})` : `${what}: not set after the merge`
  const lines = [`wins (${e.source}): ${part('build arg', e.build_arg)}; ${part('environment', e.environment)}`]
  if (e.note) lines.push(`note: ${e.note}`)
  return lines
}
