import { isScalar, visit } from 'yaml'
import { lineColOf, parseComposeForReading } from '../compose/yaml-source.js'
import type { ComposeText } from './compose-service.js'
import type { Finding } from './finding.js'

// `${VAR:?message}` makes every docker compose command of the environment fail while VAR is unset or
// empty (`${VAR?message}`: unset). Compose takes values from the shell first, then the --env-file files
// (a later file over an earlier one), and without --env-file from the `.env` of the project directory.

export interface RequiredVariable {
  variable: string
  /** `:?` — an empty value fails too. */
  nonEmpty: boolean
  file: string
  line: number
}

export function requiredVariablesOf(file: ComposeText): RequiredVariable[] {
  const out: RequiredVariable[] = []
  let doc: ReturnType<typeof parseComposeForReading>
  try {
    doc = parseComposeForReading(file.text, file.path)
  } catch {
    return out
  }
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key' || !isScalar(node) || typeof node.value !== 'string') return
      const value = node.value.replace(/\$\$/g, '')
      for (const m of value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)\?/g)) {
        const line = lineColOf(file.text, node.range?.[0] ?? 0).line
        out.push({ variable: m[1]!, nonEmpty: m[2] === ':', file: file.path, line })
      }
    },
  })
  return out
}

export function checkRequiredVariables(o: {
  envName: string
  files: readonly ComposeText[]
  /** The values compose would see, already layered (shell over env files). */
  values: Readonly<Record<string, string | undefined>>
  /** Where the values come from, for the message (`.env.production, the environment`). */
  sources: string
  /** environments.<name>.env_file, for the fix. */
  envFiles: readonly string[]
}): Finding[] {
  const seen = new Set<string>()
  const findings: Finding[] = []
  for (const f of o.files) {
    for (const r of requiredVariablesOf(f)) {
      if (seen.has(r.variable)) continue
      seen.add(r.variable)
      const value = o.values[r.variable]
      const missing = value === undefined || (r.nonEmpty && value === '')
      if (!missing) continue
      findings.push({
        check: 'compose.variables',
        level: 'error',
        file: r.file,
        line: r.line,
        message:
          `\${${r.variable}:?…} is required but ${value === undefined ? 'not set' : 'empty'} in ${o.sources}: ` +
          'every docker compose command of this environment would fail',
        fix:
          o.envFiles.length > 0
            ? `set ${r.variable}=… in ${o.envFiles.at(-1)} or in the environment`
            : `put ${r.variable}=… in an env file and list it under environments.${o.envName}.env_file`,
      })
    }
  }
  if (findings.length === 0 && seen.size > 0) {
    findings.push({
      check: 'compose.variables',
      level: 'ok',
      message: `required variables set: ${[...seen].join(', ')}`,
    })
  }
  return findings
}
