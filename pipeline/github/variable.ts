import type { Deps } from '../ports/deps.js'
import { GitHubError } from './api.js'
import { createVariableRequest, deleteVariableRequest, getVariableRequest, updateVariableRequest } from './requests.js'
import type { GithubSettings } from './settings.js'

/** The variable's value, or null where it does not exist (404). */
export async function readVariable(deps: Pick<Deps, 'github'>, g: GithubSettings): Promise<string | null> {
  try {
    const res = await deps.github.read<{ value: string }>(getVariableRequest(g))
    return res.data.value
  } catch (e) {
    if (e instanceof GitHubError && e.status === 404) return null
    throw e
  }
}

/** Sets the variable: an update where it exists, a create where it does not. */
export async function writeVariable(
  deps: Pick<Deps, 'github'>,
  g: GithubSettings,
  value: string,
  exists: boolean,
): Promise<void> {
  if (exists) await deps.github.write(updateVariableRequest(g, value))
  else await deps.github.write(createVariableRequest(g, value))
}

/** Puts the variable back: to its value before, or removed when it did not exist then. */
export async function restoreVariable(
  deps: Pick<Deps, 'github'>,
  g: GithubSettings,
  previous: string | null,
): Promise<void> {
  if (previous === null) await deps.github.write(deleteVariableRequest(g))
  else await deps.github.write(updateVariableRequest(g, previous))
}
