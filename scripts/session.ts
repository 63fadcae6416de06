import { redactorForEnv, SECRET_ENV_VARS } from '../pipeline/secrets/redact.js'

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
