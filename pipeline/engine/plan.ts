import { formatBytes } from '../format/bytes.js'
import { formatCommand } from '../ports/format-command.js'

/**
 * One entry of a dry-run plan. Every write a dry run does not make, and every step it skips, adds one
 * of these to the run's {@link Plan}: the one sink that renders both the text and the `--json` plan.
 */
export type PlanEntry =
  /** A command: `read` ones run even in dry-run (`$`), the others would run (`!`). */
  | { kind: 'exec'; argv: readonly string[]; read?: boolean; env?: readonly string[]; note?: string }
  /** A file the run would write, with the unified diff when it is a user's file. */
  | { kind: 'write'; path: string; diff?: string }
  /** Model files the run would upload. */
  | { kind: 'push'; target: string; files?: number; bytes?: number; detail?: string }
  /** A line the run would append to a journal (history.jsonl). */
  | { kind: 'append'; path: string; summary: string }
  /** A GitHub REST call: reads it makes (`$`), writes it would make (`!`), with the body and what a write starts. */
  | {
      kind: 'api'
      method: string
      path: string
      read?: boolean
      body?: Readonly<Record<string, unknown>>
      starts?: string
      note?: string
    }
  /** Anything else worth saying (`#`). */
  | { kind: 'note'; text: string }

export interface Plan {
  add(entry: PlanEntry): void
  /** Entries in order, each once. */
  entries(): readonly PlanEntry[]
  /** The text plan: one line per entry (`$` reads it runs, `!` writes it would run, `#` notes). */
  lines(): string[]
}

export const PLAN_LEGEND = '$ runs (read-only)   ! would run or write   # note'

export function planLine(e: PlanEntry): string {
  switch (e.kind) {
    case 'exec': {
      const env = e.env?.length ? `${e.env.map((n) => `${n}=…`).join(' ')} ` : ''
      return `${e.read ? '$' : '!'} ${env}${formatCommand(e.argv)}${e.note ? `  # ${e.note}` : ''}`
    }
    case 'write':
      return `! would write ${e.path}`
    case 'push':
      return (
        `! would push ` +
        `${e.files === undefined ? 'the model' : `${e.files} files (${formatBytes(e.bytes ?? 0)})`} → ` +
        `${e.target}${e.detail ? ` ${e.detail}` : ''}`
      )
    case 'append':
      return `! would append to ${e.path}: ${e.summary}`
    case 'api': {
      const body = e.body && Object.keys(e.body).length ? ` ${JSON.stringify(e.body)}` : ''
      const notes = [...(e.starts ? [`starts ${e.starts}`] : []), ...(e.note ? [e.note] : [])]
      return `${e.read ? '$' : '!'} ${e.method} ${e.path}${body}${notes.length ? `  # ${notes.join('; ')}` : ''}`
    }
    case 'note':
      return `# ${e.text}`
  }
}

/**
 * A plan that keeps each entry once. `aliases` rewrites scratch paths (a dry run's temp run
 * directory) to the stable paths a real run would use, so the plan never shows a deleted temp dir.
 */
export function createPlan(
  aliases: ReadonlyArray<readonly [from: string, to: string]> = [],
): Plan & { alias(from: string, to: string): void } {
  const list: PlanEntry[] = []
  const seen = new Set<string>()
  const pairs = [...aliases]
  const rewrite = (s: string): string => pairs.reduce((acc, [from, to]) => acc.split(from).join(to), s)
  return {
    alias(from, to) {
      pairs.push([from, to])
    },
    add(entry) {
      const stable = JSON.parse(rewrite(JSON.stringify(entry))) as PlanEntry
      const key = JSON.stringify(stable)
      if (seen.has(key)) return
      seen.add(key)
      list.push(stable)
    },
    entries: () => list,
    lines: () => list.map(planLine),
  }
}
