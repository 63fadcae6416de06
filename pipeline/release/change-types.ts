// The release note's shape, apart from the code that computes it: the audit log stores it and
// changes.ts reads the audit log, so the type lives where both import it without a loop.

/** A number before and after a release; `before` and `change` are null when the earlier value is unknown. */
export interface Delta {
  before: number | null
  after: number
  change: number | null
}

/**
 * What a release changes against the environment's current model: the release note a reviewer reads.
 * Stored in the history line (`changes`), shown in the summary, written into the model card.
 */
export interface ReleaseChanges {
  /** The model this release replaces (the environment's current model), or null when none is known. */
  since: string | null
  /** Why the earlier dataset is unknown (no history of that model, its run directory was removed, …). */
  datasetUnknown?: string
  /** Rows per label in the training data (after − before: rows added, or removed when negative). */
  rows: Record<string, Delta>
  totalRows: Delta
  /** Headline metrics; absent when this run has no trained model (a dry run). */
  metrics?: { accuracy: Delta; f1_macro: Delta }
}
