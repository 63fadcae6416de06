import { join } from 'node:path'
import { ModelshipError } from '../../engine/errors.js'

/** A Hugging Face token and where it came from (a description for messages, never the value). */
export interface HfToken {
  token: string
  source: string
}

/**
 * Finds the Hugging Face token the way huggingface_hub does: `HF_TOKEN`, else the file named by
 * `HF_TOKEN_PATH`, else `$HF_HOME/token`, else `~/.cache/huggingface/token` (`$XDG_CACHE_HOME`
 * when set), which is where `hf auth login` saves it. `readFile` answers undefined for a missing file.
 * Pure: the environment and the file reader are passed in.
 */
export function resolveHfToken(
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string | undefined,
): HfToken | undefined {
  const fromEnv = env.HF_TOKEN?.trim()
  if (fromEnv) return { token: fromEnv, source: 'HF_TOKEN' }
  const home = env.HOME ?? env.USERPROFILE
  const cache = env.XDG_CACHE_HOME || (home ? join(home, '.cache') : undefined)
  const candidates: Array<[path: string | undefined, source: (p: string) => string]> = [
    [env.HF_TOKEN_PATH || undefined, (p) => `the file ${p} (HF_TOKEN_PATH)`],
    [env.HF_HOME ? join(env.HF_HOME, 'token') : undefined, (p) => `the file ${p} (HF_HOME)`],
    [cache ? join(cache, 'huggingface', 'token') : undefined, (p) => `the file ${p} (saved by hf auth login)`],
  ]
  for (const [path, source] of candidates) {
    if (!path) continue
    const token = readFile(path)?.trim()
    if (token) return { token, source: source(path) }
  }
  return undefined
}

/** The token a Hub call needs, or the AUTH error that says how to get one; nothing is sent before. */
export function requireToken(
  token: string | undefined,
  endpoint: string,
  org: string,
  access: 'read' | 'write',
): string {
  if (!token) {
    throw new ModelshipError(
      'AUTH',
      `HF_TOKEN is not set: the Hugging Face Hub registry (${endpoint}) needs a token with ${access} access to ${org}`,
      { hint: `create a ${access} token at ${endpoint}/settings/tokens and set HF_TOKEN (or run hf auth login)` },
    )
  }
  if (!token.startsWith('hf_')) {
    throw new ModelshipError('AUTH', 'HF_TOKEN does not look like a Hugging Face token (it must start with hf_)', {
      hint: `copy the token again from ${endpoint}/settings/tokens`,
    })
  }
  return token
}
