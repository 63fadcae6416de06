import type { ConfusionMatrix, EvalSetMetrics } from '../model/metrics.js'
import { type CardPictures, matrixTotal, PICTURE_FILES } from './card-pictures.js'

// The Markdown of the pictures: each image by its relative path with alt text, and under it a table of the
// same numbers (a reader without images, a diff in review, and a search see them too).

const score = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : n.toFixed(4))
const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(4)}`
const cell = (s: string): string => s.replace(/\|/g, '\\|')

/** A confusion matrix as a Markdown table: true labels down, predictions across, the diagonal in bold. */
export function matrixMarkdown(m: ConfusionMatrix): string[] {
  const header = `| true \\ predicted | ${m.labels.map(cell).join(' | ')} | total |`
  const rule = `| --- | ${m.labels.map(() => '---:').join(' | ')} | ---: |`
  const rows = m.labels.map((label, i) => {
    const row = m.counts[i] ?? []
    const counts = row.map((c, j) => (i === j ? `**${c}**` : String(c)))
    return `| ${cell(label)} | ${counts.join(' | ')} | ${row.reduce((a, b) => a + b, 0)} |`
  })
  const columnTotals = m.labels.map((_, j) => m.counts.reduce((n, row) => n + (row[j] ?? 0), 0))
  return [header, rule, ...rows, `| total | ${columnTotals.join(' | ')} | ${matrixTotal(m)} |`]
}

export const diagonalOf = (m: ConfusionMatrix): number => m.labels.reduce((n, _, i) => n + (m.counts[i]?.[i] ?? 0), 0)

/** The three pictures of a card, each with its table; then the eval set's matrices (new and running model). */
export function picturesMarkdown(p: CardPictures, evalSet?: EvalSetMetrics): string[] {
  const out: string[] = []
  if (p.matrix) {
    const total = matrixTotal(p.matrix)
    out.push(
      `## Confusion matrix (held-out split, ${total} examples)`,
      '',
      `![Confusion matrix of ${p.version} on the held-out split: ${total} examples, ${diagonalOf(p.matrix)} on the ` +
        'diagonal (predicted right); rows are the true labels, columns the predictions, shading the share of ' +
        `the row](${PICTURE_FILES.confusionMatrix})`,
      '',
      ...matrixMarkdown(p.matrix),
      '',
    )
  } else {
    out.push(
      '## Confusion matrix',
      '',
      `![No confusion matrix for ${p.version}: ${p.noMatrix}](${PICTURE_FILES.confusionMatrix})`,
      '',
      `No confusion matrix: ${p.noMatrix}.`,
      '',
    )
  }
  const previous = p.previous
  out.push(
    '## F1 per class',
    '',
    `![F1 per class of ${p.version}` +
      `${previous ? ` beside ${previous.version}, the version it replaces` : ''}](${PICTURE_FILES.perClassF1})`,
    '',
    previous ? `| label | ${p.version} | ${previous.version} | change |` : `| label | ${p.version} |`,
    previous ? '| --- | ---: | ---: | ---: |' : '| --- | ---: |',
    ...p.perClass.map((c) =>
      previous
        ? `| ${cell(c.label)} | ${score(c.f1)} | ${score(c.previous)} | ` +
          `${c.f1 !== null && c.previous !== null ? signed(c.f1 - c.previous) : '-'} |`
        : `| ${cell(c.label)} | ${score(c.f1)} |`,
    ),
    '',
  )
  if (!previous) out.push(`No earlier version to compare with: ${p.version} replaces no model of this line.`, '')
  const shown = p.trend.map((t) => t.version).join(', ')
  out.push(
    '## Trend',
    '',
    `![Accuracy and macro F1 of every version of this model (${shown}), ${p.version} marked](${PICTURE_FILES.trend})`,
    '',
    '| version | accuracy | macro F1 | |',
    '| --- | ---: | ---: | --- |',
    ...p.trend.map(
      (t) =>
        `| ${t.version} | ${score(t.accuracy)} | ${score(t.f1_macro)} | ` +
        `${t.current ? 'this version' : (t.problem ?? '')} |`,
    ),
    '',
  )
  if (evalSet?.confusion_matrix) {
    out.push(`### Confusion matrix on the evaluation set \`${evalSet.name}\` (${evalSet.rows} rows)`, '')
    out.push(`${p.version}:`, '', ...matrixMarkdown(evalSet.confusion_matrix), '')
    if (evalSet.current?.confusion_matrix)
      out.push(
        `${evalSet.current.modelId}, which it replaces (accuracy ${score(evalSet.current.accuracy)}):`,
        '',
        ...matrixMarkdown(evalSet.current.confusion_matrix),
        '',
      )
  }
  return out
}
