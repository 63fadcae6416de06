/**
 * Every failure modelship reports carries one of these codes; the CLI's single top-level catch maps
 * the code to the documented exit code (see CONTRACT.md, "Exit codes").
 */
export type ErrorCode =
  | 'STEP_FAILED' // a step failed; `--resume` can continue
  | 'BAD_INPUT' // bad data, model id, version or file contents
  | 'CONFIG' // modelship.yaml / env / flags do not validate
  | 'USAGE' // wrong command line
  | 'AUTH' // a token is missing, malformed or lacks the rights
  | 'GATE_REJECTED' // a metrics gate rejected the model
  | 'LOCKED' // another run holds the lock
  | 'ROLLED_BACK' // deploy or verify failed and the previous model was restored
  | 'ROLLBACK_FAILED' // the restore failed too
  | 'INTERRUPTED' // SIGINT / SIGTERM
  | 'MISSING_OUTPUT' // a step needed an output an earlier step did not produce (a bug or a bad resume)

export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  STEP_FAILED: 1,
  MISSING_OUTPUT: 1,
  BAD_INPUT: 2,
  CONFIG: 2,
  USAGE: 2,
  AUTH: 2,
  GATE_REJECTED: 3,
  LOCKED: 4,
  ROLLED_BACK: 5,
  ROLLBACK_FAILED: 6,
  INTERRUPTED: 130,
}

const DEFAULT_HINTS: Partial<Record<ErrorCode, string>> = {
  STEP_FAILED: 'fix the cause, then run `modelship release --resume` to continue where it stopped',
  MISSING_OUTPUT: 'rerun from the step that produces it: `modelship release --resume --from <step>`',
  CONFIG: 'check modelship.yaml, .env and the command-line flags',
  USAGE: 'see `modelship --help`',
  GATE_REJECTED: 'improve the data or the model; `--force` passes the no-regression gate only',
  LOCKED: 'wait for that run to finish; a lock whose process is gone is taken over automatically',
  INTERRUPTED: 'run `modelship release --resume` to continue',
}

/** An error with a code (→ exit code), a one-line message and an optional hint for the user. */
export class ModelshipError extends Error {
  readonly code: ErrorCode
  readonly hint: string | undefined
  /** Multi-line detail printed after the message (e.g. the state of files after a failed rollback). */
  readonly details: string | undefined

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown; details?: string } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'ModelshipError'
    this.code = code
    this.hint = opts.hint ?? DEFAULT_HINTS[code]
    this.details = opts.details
  }

  get exitCode(): number {
    return EXIT_CODES[this.code]
  }
}

export function isModelshipError(e: unknown): e is ModelshipError {
  return e instanceof ModelshipError
}

/** The exit code for any thrown value: coded errors map through EXIT_CODES, anything else is a failed step. */
export function exitCodeOf(e: unknown): number {
  return isModelshipError(e) ? e.exitCode : 1
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/** Several problems found by one check, reported at once: the first as the message, the rest as details. */
export function aggregateProblems(problems: readonly string[], code: ErrorCode = 'CONFIG'): ModelshipError {
  const [first, ...rest] = problems
  const more = rest.length ? ` (and ${rest.length} more problem${rest.length > 1 ? 's' : ''})` : ''
  return new ModelshipError(
    code,
    `${first ?? 'unknown problem'}${more}`,
    rest.length ? { details: rest.join('\n') } : {},
  )
}
