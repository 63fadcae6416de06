import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { hostname, userInfo } from 'node:os'
import { dirname } from 'node:path'
import { ModelshipError } from '../engine/errors.js'
import type { ReleaseChanges } from '../release/change-types.js'
import { redactDeep } from '../secrets/redact.js'

export type HistoryAction = 'release' | 'promote' | 'rollback'
export type HistoryOutcome = 'success' | 'failed' | 'rejected' | 'rolled_back' | 'rollback_failed' | 'interrupted'

const OUTCOME_OF_CODE: Partial<Record<string, HistoryOutcome>> = {
  GATE_REJECTED: 'rejected',
  ROLLED_BACK: 'rolled_back',
  ROLLBACK_FAILED: 'rollback_failed',
  INTERRUPTED: 'interrupted',
}

/** The history outcome of a failure with this error code. */
export function outcomeOf(code: string): HistoryOutcome {
  return OUTCOME_OF_CODE[code] ?? 'failed'
}

/** One line of `.modelship/history.jsonl` (append-only audit log). */
export interface HistoryEntry {
  at: string
  action: HistoryAction
  env: string
  /** The model the environment used before. */
  from: string | null
  /** The model it was to use. */
  to: string | null
  outcome: HistoryOutcome
  /** Whether the running service was rebuilt and redeployed. */
  deployed: boolean
  /** Why build/deploy did not run (`--no-deploy`, `no Docker engine answers`, …) when deployed is false. */
  notDeployed?: string
  user: string
  host: string
  runId?: string
  datasetSha256?: string
  /** sha256 of gates.eval_set when the gate scored old and new model on it. */
  evalSetSha256?: string
  metrics?: { accuracy: number; f1_macro: number }
  step?: string
  error?: string
  /** A plain `rollback` (no --to): it undoes the latest change not undone yet. */
  undo?: boolean
  /** A release's note: rows per label and metrics against the model it replaced. */
  changes?: ReleaseChanges
  /** Image mode: the image tag the run deployed (or meant to). */
  tag?: string
  /** Image mode: the tag the environment ran before, when known (what a rollback returns to). */
  previousTag?: string
  /** The hosts the run deployed to (or started to), in order; absent: the current context only. */
  hosts?: string[]
}

const DONE: Record<HistoryAction, string> = { release: 'released', promote: 'promoted', rollback: 'rolled back' }

/** The outcome as a person reads it: `released`, `released (not deployed: no Docker engine ` +
  `answers)`, `failed at push`. */
export function describeOutcome(e: HistoryEntry): string {
  if (e.outcome !== 'success') return e.outcome + (e.step ? ` at ${e.step}` : '')
  return e.deployed ? DONE[e.action] : `${DONE[e.action]} (not deployed${e.notDeployed ? `: ${e.notDeployed}` : ''})`
}

/**
 * The model running in `env` per the audit log: the newest run that rebuilt and redeployed it.
 * A release whose deploy failed and was rolled back redeployed the model it replaced.
 */
export function runningModelOf(
  entries: readonly HistoryEntry[],
  env: string,
): { model: string; at: string; runId?: string } | undefined {
  for (const e of entries) {
    if (e.env !== env || !e.deployed) continue
    const model = e.outcome === 'success' ? e.to : e.outcome === 'rolled_back' ? e.from : undefined
    if (model === undefined) continue
    // A failed rollback leaves the service in an unknown state: nothing older can be trusted either.
    if (model === null) return undefined
    return { model, at: e.at, ...(e.runId ? { runId: e.runId } : {}) }
  }
  return undefined
}

/** The model the newest successful change recorded for `env` set in its files. */
export function recordedModelOf(
  entries: readonly HistoryEntry[],
  env: string,
): { model: string; at: string; runId?: string } | undefined {
  const e = entries.find((x) => x.env === env && x.outcome === 'success' && x.to !== null)
  return e?.to ? { model: e.to, at: e.at, ...(e.runId ? { runId: e.runId } : {}) } : undefined
}

/** Who made a change, for the audit log. */
export function whoami(): { user: string; host: string } {
  let user = 'unknown'
  try {
    user = userInfo().username
  } catch {
    // no passwd entry (containers)
  }
  return { user, host: hostname() }
}

export interface History {
  append(entry: HistoryEntry): Promise<void>
  /** All entries, newest first. */
  read(): Promise<HistoryEntry[]>
}

export function createHistory(path: string, redact: (s: string) => string): History {
  return {
    async append(entry) {
      // A run's line is appended at most once: a run replayed after a kill between its append and its
      // state write must not log itself twice. (Each failed attempt of a run is its own line.)
      const same = (e: HistoryEntry): boolean =>
        e.runId === entry.runId && e.action === entry.action && e.outcome === entry.outcome && e.step === entry.step
      if (entry.runId !== undefined && (await this.read()).some(same)) return
      mkdirSync(dirname(path), { recursive: true })
      // One write of one line with O_APPEND: concurrent appends never interleave within a line.
      appendFileSync(path, `${JSON.stringify(redactDeep(entry, redact))}\n`, { encoding: 'utf8', flag: 'a' })
    },
    async read() {
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
        throw e
      }
      const entries: HistoryEntry[] = []
      text.split('\n').forEach((line, i) => {
        if (line.trim() === '') return
        try {
          entries.push(JSON.parse(line) as HistoryEntry)
        } catch {
          throw new ModelshipError('BAD_INPUT', `${path}:${i + 1}: not a JSON line`)
        }
      })
      return entries.reverse()
    },
  }
}

/**
 * Where a plain `rollback` goes: history read as an undo stack. Each earlier plain rollback undoes
 * one change, so rolling back twice after three releases lands on the first release's predecessor,
 * not back and forth between the last two.
 */
export function previousModelOf(
  entries: readonly HistoryEntry[],
  env: string,
): { from: string; to: string } | undefined {
  let undone = 0
  for (const e of entries) {
    if (e.env !== env || e.outcome !== 'success' || e.from === null || e.to === null || e.from === e.to) continue
    if (e.action === 'rollback' && e.undo === true) undone++
    else if (undone > 0) undone--
    else return { from: e.from, to: e.to }
  }
  return undefined
}
