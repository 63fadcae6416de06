import { modelInEffect, readConfiguredModels } from '../pipeline/environment.js'
import { openWorkspace } from './workspace.js'

export async function currentCommand(flags: { workspace?: string; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const { config, files } = ws.deps
  const buildArg = config.deploy.build_arg
  const environments: Record<string, { model: string | null; files: Array<{ file: string; line: number; value: string; form: string; variable?: string }> }> = {}
  for (const [env, envConfig] of Object.entries(config.environments)) {
    const configured = await readConfiguredModels(config, env, files)
    environments[env] = { model: modelInEffect(envConfig, configured) ?? null, files: configured }
  }
  const fromEnv = ws.env[buildArg] ?? null
  if (flags.json) {
    ws.printJson({ environments, env: { [buildArg]: fromEnv } })
    return 0
  }
  for (const [env, info] of Object.entries(environments)) {
    ws.print(`${env}: ${info.model ?? '(not configured)'}`)
    for (const f of info.files) ws.print(`  ${f.file}:${f.line}  ${f.value}${f.variable ? `  (default of \${${f.variable}})` : ''}`)
  }
  ws.print(`${buildArg} in the environment: ${fromEnv ?? '(not set)'}${fromEnv ? ' — it overrides the ${VAR:-default} defaults above' : ''}`)
  return 0
}
