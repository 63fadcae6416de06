/** A row's position in its source: a line number (files), an id (database) or a row number (API, query). */
export type RowRef = number | string

/** A row the source could not read as a (text, label) record, and why. */
export interface RowProblem {
  ref: RowRef
  reason: string
}

/** Why a row was left out of the dataset. */
export type DropReason = 'empty_text' | 'duplicate' | 'empty_label'

export interface DatasetReport {
  /** Secret-free identity of the source (a path, a URL without credentials, `postgres://host/db`). */
  source: string
  rowsRead: number
  kept: number
  /** What the row references below are: line numbers (files), row numbers (API bodies, queries) or ids. */
  refs?: 'line' | 'row' | 'id'
  /** Per reason: how many, and the first line numbers (files) or ids (database) / row numbers (API). */
  dropped: Partial<Record<DropReason, { count: number; first: Array<number | string> }>>
  /** Rows that are not (text, label) records (bad JSON, missing fields): counted, the first 20 listed. */
  malformed?: { count: number; first: RowProblem[] }
  /** Kept rows whose label is not one of ExportRequest.labels (when given): per label, the first 20 rows. */
  unknownLabels?: Record<string, { count: number; first: RowRef[] }>
  perLabel: Record<string, number>
  /** Same text with different labels (the first 100 such texts; see conflictCount for the total). */
  conflicts: Array<{ text: string; labels: string[] }>
  /** How many distinct texts have conflicting labels; absent means `conflicts.length`. */
  conflictCount?: number
  sha256: string
}

export interface ExportRequest {
  /** A .jsonl/.csv path (absolute), an http(s) export URL, or a postgres:// URL. */
  source: string
  /** postgres only: SQL returning text, label; null for the default query over labeled_queries. */
  query: string | null
  /** Where the normalized dataset.jsonl is written (atomically: nothing is left there on failure). */
  destPath: string
  /**
   * `false`: the file is scratch, removed soon after (a dry run's run directory), so it is written and renamed
   * into place as always but not flushed to disk (no fsync): nothing waits for the disk. Default `true`.
   */
  durable?: boolean
  /** The model's labels: rows with any other label are listed in the report's `unknownLabels`. */
  labels?: readonly string[]
  /** Bearer token for the http(s) source (FEEDBACK_API_TOKEN). */
  apiToken?: string
  /** Called for progress lines (rows so far); plain text, no secrets. */
  onProgress?: (line: string) => void
  signal?: AbortSignal
  /** http(s) only: timeouts and retries (defaults: 10 s connect, 60 s read, 3 attempts, 1 s backoff). */
  http?: HttpOptions
}

export interface HttpOptions {
  connectTimeoutMs?: number
  /** Longest silence while waiting for the response head or the next body bytes. */
  readTimeoutMs?: number
  /** Attempts in all (1 = no retry). */
  attempts?: number
  /** Delay before the first retry; doubled for each further one. */
  retryDelayMs?: number
}

export interface ExportResult {
  path: string
  sha256: string
  report: DatasetReport
}
