import { type ConfiguredModel, readEnvironmentModels } from '../pipeline/environment.js'
import { type HostRuntime, readHostRuntimes } from '../pipeline/deploy/host-status.js'
import { driftOf } from '../pipeline/history/drift.js'
import { openWorkspace } from './workspace.js'

interface EnvironmentReport {
  model: string | null
  /** Every place that sets the model, with its kind: build_arg, environment or env_file. */
  files: ConfiguredModel[]
  /** Set when the places in effect name different models. */
  warning?: string
  /** Where the files and the audit log disagree (files restored by `git checkout`, a release not deployed). */
  drift?: string[]
  /** Servers (environments.<name>.hosts): the image tag and model each one runs now, from ps/inspect there. */
  hosts?: HostRuntime[]
}

export async function currentCommand(flags: { workspace?: string; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const { config, files } = ws.deps
  const buildArg = config.deploy.build_arg
  const environments: Record<string, EnvironmentReport> = {}
  const history = await ws.deps.history.read()
  for (const env of Object.keys(config.environments)) {
    const models = await readEnvironmentModels(config, env, files)
    const drift = driftOf(env, models.model, history).warnings
    // Asking the servers is worth a few docker calls only where the environment names its servers.
    const hosts = config.environments[env]?.hosts.length
      ? await readHostRuntimes({ config, sh: ws.deps.sh, history }, env)
      : undefined
    environments[env] = {
      ...(hosts ? { hosts } : {}),
      model: models.model ?? null,
      files: models.places,
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
        ws.print(`  ${f.kind.padEnd(11)} ${f.file}:${f.line}  ${f.value}${from}`)
      }
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
