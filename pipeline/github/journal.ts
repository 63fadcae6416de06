import { join } from 'node:path'
import { readTextIfAny, writeOwnFileSync } from '../fs-atomic.js'

/**
 * What a github-mode deploy did so far, in the run directory, written before and after each side effect:
 * the variable's value before the run (what a failure restores), whether it was set, when a dispatch was
 * sent and which workflow run it started. A failed step's outputs are not kept in state.json, so this is
 * what `--resume` (after a timeout, or a SIGKILL at any instant) attaches to: the same run, never a second.
 */
export interface GithubJournal {
  modelId: string
  repo: string
  variable: string
  /** The GitHub environment of the variable, or null for a repository variable. */
  environment: string | null
  /** The value before this run; null: the variable did not exist. */
  previous: string | null
  /** The variable holds modelId (set by this run). */
  set: boolean
  /** ISO time just before the dispatch was sent (a kill right after it finds the run by this). */
  dispatchingAt?: string
  /** trigger push: the commit pushed. */
  headSha?: string
  run?: JournaledRun
}

export interface JournaledRun {
  id: number
  htmlUrl: string
  /** Set once the run completed. */
  conclusion?: string
}

const FILE = 'github-deploy.json'

export function readJournal(runDir: string): GithubJournal | undefined {
  const text = readTextIfAny(join(runDir, FILE))
  if (text === undefined) return undefined
  try {
    return JSON.parse(text) as GithubJournal
  } catch {
    return undefined
  }
}

export function writeJournal(runDir: string, j: GithubJournal): void {
  writeOwnFileSync(join(runDir, FILE), `${JSON.stringify(j, null, 2)}\n`)
}
