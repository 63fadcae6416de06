import { ModelshipError } from '../engine/errors.js'
import type { Deps } from '../ports/deps.js'
import type { Command } from '../ports/types.js'

// trigger: push — the compose edit is committed on `ref` and pushed; the push starts the workflow, so the
// compose file in the repository and the image the workflow builds name the same model.

export const currentBranchCommand = (ws: string): Command => ['git', '-C', ws, 'rev-parse', '--abbrev-ref', 'HEAD']
export const headCommand = (ws: string): Command => ['git', '-C', ws, 'rev-parse', 'HEAD']
export const statusCommand = (ws: string, files: readonly string[]): Command => [
  'git',
  '-C',
  ws,
  'status',
  '--porcelain',
  '--',
  ...files,
]
export const addCommand = (ws: string, files: readonly string[]): Command => ['git', '-C', ws, 'add', '--', ...files]
export const commitCommand = (ws: string, message: string, files: readonly string[]): Command => [
  'git',
  '-C',
  ws,
  'commit',
  '--quiet',
  '-m',
  message,
  '--',
  ...files,
]
export const pushCommand = (ws: string, ref: string): Command => [
  'git',
  '-C',
  ws,
  'push',
  '--quiet',
  'origin',
  `HEAD:refs/heads/${ref}`,
]

/** The checkout must be on `ref`: the commit goes on that branch, nowhere else. */
export async function checkPushBranch(deps: Pick<Deps, 'sh' | 'config'>, ref: string): Promise<string | undefined> {
  const ws = deps.config.workspace
  const branch = await deps.sh.read(currentBranchCommand(ws)).catch(() => undefined)
  if (branch === undefined) return `deploy.github.trigger push: ${ws} is not a git checkout`
  if (branch.trim() !== ref)
    return (
      `deploy.github.trigger push: the checkout is on ${branch.trim()}, not ${ref} (deploy.github.ref) — switch ` +
      `to it with \`git switch ${ref}\``
    )
  return undefined
}

/**
 * Commits the edited files (only them) unless the last commit has them already (a replay after a kill),
 * pushes to `ref`, and returns the pushed commit.
 */
export async function commitAndPush(
  deps: Pick<Deps, 'sh' | 'config'>,
  o: { ref: string; files: readonly string[]; message: string },
): Promise<string> {
  const ws = deps.config.workspace
  const problem = await checkPushBranch(deps, o.ref)
  if (problem) throw new ModelshipError('CONFIG', problem)
  const changed = (await deps.sh.read(statusCommand(ws, o.files))).trim()
  if (changed) {
    await deps.sh.write(addCommand(ws, o.files))
    await deps.sh.write(commitCommand(ws, o.message, o.files))
  }
  await deps.sh.write(pushCommand(ws, o.ref))
  return (await deps.sh.read(headCommand(ws))).trim()
}
