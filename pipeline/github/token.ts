import type { Command, Shell } from '../ports/types.js'
import { DEFAULT_API_URL } from './api.js'

/** `gh auth token` for the API's host (GitHub Enterprise Server: `--hostname HOST`). */
export function ghTokenCommand(apiUrl: string): Command {
  const host = new URL(apiUrl).host
  return apiUrl === DEFAULT_API_URL || host === 'api.github.com'
    ? ['gh', 'auth', 'token']
    : ['gh', 'auth', 'token', '--hostname', host]
}

/** GITHUB_TOKEN, else GH_TOKEN, else what `gh auth token` prints where gh is installed and logged in. */
export async function resolveGithubToken(
  env: Readonly<Record<string, string | undefined>>,
  sh: Shell,
  apiUrl: string,
): Promise<{ token: string; source: string } | undefined> {
  for (const name of ['GITHUB_TOKEN', 'GH_TOKEN']) {
    const v = env[name]?.trim()
    if (v) return { token: v, source: name }
  }
  const out = await sh.read(ghTokenCommand(apiUrl)).catch(() => '')
  const token = out.trim().split('\n')[0]?.trim()
  return token ? { token, source: '`gh auth token`' } : undefined
}
