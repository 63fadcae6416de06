import { redactDeep, redactorForEnv, SECRET_ENV_VARS } from '../pipeline/secrets/redact.js'

/**
 * The redactor of this CLI process: it starts with the secrets of the real environment and learns
 * those that `.env` adds once a workspace is opened, so the top-level catch masks them too.
 */
export const sessionRedactor = redactorForEnv(process.env)

export function learnSecrets(env: Readonly<Record<string, string | undefined>>): void {
  for (const name of SECRET_ENV_VARS) sessionRedactor.add(env[name])
}

/** Stops the children of the command that is running (set by openWorkspace once the ports exist). */
export const session: { stopChildren?: (o?: { now?: boolean }) => Promise<void> } = {}

/** Whether this process printed its one --json answer (the top-level catch prints one when it has not). */
export const jsonAnswer = { printed: false }

/** Writes the command's one JSON value on stdout, redacted (strings first, then the text, for escaped forms). */
export function writeJson(value: unknown): void {
  jsonAnswer.printed = true
  process.stdout.write(`${sessionRedactor(JSON.stringify(redactDeep(value, sessionRedactor), null, 2))}\n`)
}

/** `--json` among the arguments (before a `--`, after which everything is an operand). */
export function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--')
  return (end < 0 ? args : args.slice(0, end)).includes('--json')
}
