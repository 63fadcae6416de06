// What an edit of a compose or .env file reports, shared by both editors.

/** Where a value of the model variable lives: a build arg, the service's runtime environment, or a .env file. */
export type ModelPlaceKind = 'build_arg' | 'environment' | 'env_file'

export interface Change {
  kind: ModelPlaceKind
  /** 1-based line of the edited value. */
  line: number
  /** The whole line before and after the edit (without its line ending). */
  before: string
  after: string
  /** Set when the value lives in an anchored node the service reaches through an alias or merge key (`<<: *name`). */
  anchor?: string
}

export interface EditResult {
  text: string
  /** One entry per edited line, in file order. */
  changes: Change[]
  /** How many places set the value (edited or already right); 0 when the service or the variable is absent. */
  occurrences: number
  /**
   * Other places in the document whose value changes too, because they share an edited anchor
   * (e.g. `services.worker.build.args.HF_INTENT_MODEL`). Empty in the common case.
   */
  alsoChanged: string[]
}

/** A file edited by the compose step, with the backup that restores it byte-identical. */
export interface EditedFile {
  path: string
  /** The original bytes, kept in the run directory. */
  backup: string
  beforeSha256: string
  afterSha256: string
  changed: boolean
}
