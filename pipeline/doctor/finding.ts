// What `modelship doctor` and the release preflight report: one finding per check, with where and what to change.

export type FindingLevel = 'ok' | 'warn' | 'error'

export interface Finding {
  /** Which check: `dockerfile.secret`, `compose.variables`, `compose.plugin`, … (stable, for --json readers). */
  check: string
  level: FindingLevel
  message: string
  /** Workspace-relative path of the file the finding is about. */
  file?: string
  /** 1-based line in `file`. */
  line?: number
  /** What to change, e.g. the Dockerfile line to write. */
  fix?: string
}

export const ok = (check: string, message: string, at: { file?: string; line?: number } = {}): Finding => ({
  check,
  level: 'ok',
  message,
  ...at,
})

/** `file:line: message` (or just the message): one line for a preflight error or warning. */
export function findingLine(f: Finding): string {
  const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''
  return `${where}${f.message}${f.fix ? ` — fix: ${f.fix}` : ''}`
}
