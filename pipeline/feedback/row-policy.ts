import { ModelshipError } from '../engine/errors.js'
import type { DatasetReport, DropReason, RowRef } from './types.js'

/**
 * The bookkeeping of which rows make the dataset: labels as the source spells them (trimmed; an empty
 * label drops the row), why rows were dropped, which texts conflict, which rows are malformed, and
 * which use a label outside the model's. It all ends up in the DatasetReport.
 */

/** How many line numbers / ids the report keeps per drop reason. */
const FIRST_REFS = 10
/** How many malformed rows, and rows per unknown label, the report lists (the rest are counted). */
export const FIRST_PROBLEMS = 20
/** Conflicts listed with their text in the report; the rest are only counted (memory stays bounded). */
const MAX_CONFLICTS_LISTED = 100
/** More distinct labels than this means the label column is not a label. */
const MAX_LABELS = 10_000
/** Distinct label spellings remembered as bytes for the byte fast path. */
const MAX_BYTE_LABELS = 64

export interface LabelInfo {
  /** 1-based, as stored in the dedup table (0 marks an empty slot). */
  id: number
  name: string
  /** The label serialized as a JSON string (UTF-8), computed once per label. */
  jsonBytes: Buffer
  json: string
  count: number
  /** Outside the model's labels (only known when the source was given them). */
  unknown: boolean
  /** The first rows with this label, kept for unknown labels only. */
  first: RowRef[]
}

export class RowPolicy {
  /** Trimmed label -> info. */
  private readonly labels = new Map<string, LabelInfo>()
  /** Label as the source spelled it -> info (null: empty), so most rows skip trimming the label. */
  private readonly rawLabels = new Map<string, LabelInfo | null>()
  /** The same for labels given as bytes: a short list, compared bytewise. */
  private readonly byteLabels: Array<{ bytes: Buffer; info: LabelInfo | null }> = []
  readonly labelList: LabelInfo[] = []
  private readonly known: ReadonlySet<string> | undefined
  private readonly dropped: DatasetReport['dropped'] = {}
  private readonly malformed: NonNullable<DatasetReport['malformed']> = { count: 0, first: [] }
  private readonly conflicts: DatasetReport['conflicts'] = []
  /** Text hash (as "w0,w1,w2,w3") -> index in `conflicts`, for listed conflicts only. */
  private readonly conflictIndex = new Map<string, number>()
  private conflictCount = 0

  constructor(
    private readonly source: string,
    knownLabels: readonly string[] | undefined,
  ) {
    this.known = knownLabels ? new Set(knownLabels) : undefined
  }

  /** Resolves a raw label (as the source spelled it) to its trimmed label, or null when empty. */
  label(rawLabel: string): LabelInfo | null {
    const cached = this.rawLabels.get(rawLabel)
    if (cached !== undefined) return cached
    const name = rawLabel.trim()
    let info: LabelInfo | null = null
    if (name !== '') {
      info = this.labels.get(name) ?? null
      if (info === null) {
        if (this.labelList.length >= MAX_LABELS) {
          throw new ModelshipError(
            'BAD_INPUT',
            `${this.source}: more than ${MAX_LABELS} distinct labels — is the label column the right one?`,
          )
        }
        const json = JSON.stringify(name)
        const unknown = this.known !== undefined && !this.known.has(name)
        info = {
          id: this.labelList.length + 1,
          name,
          json,
          jsonBytes: Buffer.from(json, 'utf8'),
          count: 0,
          unknown,
          first: [],
        }
        this.labels.set(name, info)
        this.labelList.push(info)
      }
    }
    if (this.rawLabels.size < MAX_LABELS * 4) this.rawLabels.set(rawLabel, info)
    return info
  }

  /** The same for a label given as UTF-8 bytes buf[ls, le). */
  labelOfBytes(buf: Buffer, ls: number, le: number): LabelInfo | null {
    const len = le - ls
    const known = this.byteLabels
    for (let k = 0; k < known.length; k++) {
      const { bytes, info } = known[k]!
      if (bytes.length !== len) continue
      let i = 0
      while (i < len && bytes[i] === buf[ls + i]) i++
      if (i === len) return info
    }
    const info = this.label(buf.toString('utf8', ls, le))
    if (known.length < MAX_BYTE_LABELS) known.push({ bytes: Buffer.from(buf.subarray(ls, le)), info })
    return info
  }

  /** Lists a kept row whose label is unknown (`info.unknown`), up to FIRST_PROBLEMS per label. */
  listUnknown(info: LabelInfo, ref: RowRef): void {
    if (info.first.length < FIRST_PROBLEMS) info.first.push(ref)
  }

  drop(reason: DropReason, ref: RowRef): void {
    const entry = (this.dropped[reason] ??= { count: 0, first: [] })
    entry.count++
    if (entry.first.length < FIRST_REFS) entry.first.push(ref)
  }

  /** A row the source could not read as a (text, label) record; the export goes on, validation fails. */
  reject(ref: RowRef, reason: string): void {
    this.malformed.count++
    if (this.malformed.first.length < FIRST_PROBLEMS) this.malformed.first.push({ ref, reason })
  }

  /** Records that the text keyed `textKey` has a further label; `first` is set on its first conflict. */
  conflict(textKey: string, text: () => string, label: string, first: string | undefined): void {
    if (first !== undefined) {
      this.conflictCount++
      if (this.conflicts.length < MAX_CONFLICTS_LISTED) {
        this.conflictIndex.set(textKey, this.conflicts.length)
        this.conflicts.push({ text: text(), labels: [first, label] })
      }
      return
    }
    const i = this.conflictIndex.get(textKey)
    if (i !== undefined) this.conflicts[i]!.labels.push(label)
  }

  report(counts: { rowsRead: number; kept: number; refs: DatasetReport['refs'] }, sha256: string): DatasetReport {
    const perLabel: Record<string, number> = {}
    const unknownLabels: NonNullable<DatasetReport['unknownLabels']> = {}
    for (const l of [...this.labelList].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (l.count > 0) perLabel[l.name] = l.count
      if (l.unknown && l.count > 0) unknownLabels[l.name] = { count: l.count, first: l.first }
    }
    return {
      source: this.source,
      rowsRead: counts.rowsRead,
      kept: counts.kept,
      ...(counts.refs ? { refs: counts.refs } : {}),
      dropped: this.dropped,
      ...(this.malformed.count > 0 ? { malformed: this.malformed } : {}),
      ...(Object.keys(unknownLabels).length > 0 ? { unknownLabels } : {}),
      perLabel,
      conflicts: this.conflicts,
      conflictCount: this.conflictCount,
      sha256,
    }
  }
}
