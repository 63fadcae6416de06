import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'

/** The run directory's copy of everything the trainer printed. */
export const TRAIN_LOG = 'train.log'

export interface TrainLog {
  /** Appends one line (already redacted by the caller's shell port; redacted again here). */
  line(text: string): void
  /** Flushes and closes the file; safe to call twice. */
  close(): Promise<void>
}

/**
 * Opens `path` for the trainer's output, written as lines arrive so a killed or failed training
 * still leaves what it printed. Truncates an earlier attempt's log: the log is of this training.
 */
export async function openTrainLog(path: string, redact: (s: string) => string): Promise<TrainLog> {
  await mkdir(dirname(path), { recursive: true })
  const stream = createWriteStream(path, { flags: 'w', encoding: 'utf8' })
  let closed: Promise<void> | undefined
  return {
    line(text) {
      if (!closed) stream.write(`${redact(text)}\n`)
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        stream.once('error', reject)
        stream.end(resolve)
      })
      return closed
    },
  }
}

/**
 * The scikit-learn style classification report in a trainer's output, as printed (blank lines and
 * column alignment kept): from the `precision recall f1-score support` header to the `weighted avg`
 * line. Undefined when the trainer printed none.
 */
export function classificationReportOf(output: string): string[] | undefined {
  const lines = output.split(/\r?\n/)
  const start = lines.findLastIndex((l) => /^\s*precision\s+recall\s+f1-score\s+support\s*$/.test(l))
  if (start < 0) return undefined
  const end = lines.findIndex((l, i) => i > start && /^\s*weighted avg\s/.test(l))
  const last =
    end < 0 ? lines.findIndex((l, i) => i > start + 1 && l.trim() === '' && lines[i + 1]?.trim() === '') : end
  return lines.slice(start, last < 0 ? undefined : last + 1).map((l) => l.trimEnd())
}
