import { childEnvOf } from '../pipeline/ports/deps.js'
import { environmentOf } from '../pipeline/environment.js'
import type { Finding } from '../pipeline/doctor/finding.js'
import { doctorExitCode, runDoctor } from '../pipeline/doctor/run-doctor.js'
import { openWorkspace } from './workspace.js'

/** `modelship doctor [--env NAME] [--json]`: exit 0 without errors (warnings allowed), 2 with any. */
export async function doctorCommand(flags: { workspace?: string; env?: string; json?: boolean }): Promise<number> {
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const { config, files, sh, registry, secrets } = ws.deps
  const envName = flags.env ?? 'production'
  environmentOf(config, envName)
  const findings = await runDoctor({
    config,
    envName,
    files,
    sh,
    registry,
    stateDir: ws.deps.stateDir,
    databaseUrl: secrets.databaseUrl,
    github: ws.deps.github,
    env: ws.deps.env ?? childEnvOf(ws.env),
  })
  if (flags.json) ws.printJson(findings)
  else printFindings(findings, envName, ws.print)
  return doctorExitCode(findings)
}

const LABEL: Record<Finding['level'], string> = { ok: 'ok   ', warn: 'warn ', error: 'error' }

function printFindings(findings: readonly Finding[], envName: string, print: (line: string) => void): void {
  for (const f of findings) {
    const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''
    print(`${LABEL[f.level]} ${where}${f.message}`)
    if (f.fix && f.level !== 'ok') print(`      fix: ${f.fix}`)
  }
  const errors = findings.filter((f) => f.level === 'error').length
  const warnings = findings.filter((f) => f.level === 'warn').length
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  print(`doctor (${envName}): ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`)
}
