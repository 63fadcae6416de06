import { appendFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../pipeline/config/config.js'
import type { RunState } from '../pipeline/engine/state.js'
import type { TrainingMetrics } from '../pipeline/model/metrics.js'
import type { ReleaseSummary } from '../pipeline/release/summary.js'
import type { CardPictures } from '../pipeline/pictures/card-pictures.js'
import { matrixMarkdown } from '../pipeline/pictures/card-sections.js'
import { trendMermaid } from '../pipeline/pictures/mermaid.js'
import { gateRows } from './release-facts.js'

// The Markdown a release appends to $GITHUB_STEP_SUMMARY: model id, gate table, the trend (Mermaid) and the
// confusion matrix, diff and step timings.

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const fmt = (n: number | null): string => (n === null ? '–' : n.toFixed(4))

function seconds(from?: string, to?: string): string {
  if (!from || !to) return '–'
  return `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)} s`
}

export function releaseMarkdown(s: ReleaseSummary, config: Config, state: RunState | undefined): string {
  const out: string[] = []
  const deployed = s.deployed ? 'deployed' : `not deployed${s.notDeployedReason ? ` (${s.notDeployedReason})` : ''}`
  out.push(`## modelship release: ${s.dryRun ? 'dry run of ' : ''}\`${s.modelId ?? '?'}\` → ${s.env}`, '')
  out.push(`Status **${s.status}**, ${deployed}; was \`${s.previousModel ?? '?'}\`; run \`${s.runId}\`.`, '')
  const model = state?.steps.train?.outputs?.model as { metrics?: TrainingMetrics; labels?: string[] } | undefined
  if (model?.metrics) {
    const gate = state?.steps.gate?.outputs?.gate as { baseline?: { modelId: string; accuracy: number } } | undefined
    const rows = gateRows(model.metrics, config.gates, model.labels ?? config.model.labels)
    if (gate?.baseline) rows[0]!.current = gate.baseline.accuracy
    out.push('| metric | value | bound | current |', '| --- | ---: | ---: | ---: |')
    for (const r of rows)
      out.push(
        `| ${cell(r.metric)} | ${fmt(r.value)} | ${r.bound === null ? '–' : `≥ ${r.bound}`} | ${fmt(r.current)} |`,
      )
    out.push('')
  }
  const pictures = state?.steps.push?.outputs?.pictures as CardPictures | undefined
  if (pictures) out.push(...picturesSummary(pictures))
  if (s.diff) out.push('```diff', s.diff.trimEnd(), '```', '')
  if (state) {
    out.push('| step | status | time |', '| --- | --- | ---: |')
    for (const [name, status] of Object.entries(s.steps)) {
      const rec = state.steps[name]
      out.push(`| ${name} | ${status} | ${seconds(rec?.startedAt, rec?.finishedAt)} |`)
    }
    out.push('', `Total: ${seconds(state.createdAt, state.updatedAt)}`, '')
  }
  return `${out.join('\n')}\n`
}

/** The card's pictures as GitHub shows them in a step summary: the trend as Mermaid, the matrix as a table. */
function picturesSummary(p: CardPictures): string[] {
  const out: string[] = []
  const chart = trendMermaid(p.trend, `Accuracy and macro F1 by version (${p.version} marked)`)
  if (chart) {
    out.push('### Trend', '', ...chart, '')
    out.push('The lines, in order: accuracy, then macro F1 (xychart-beta draws no legend). The numbers:', '')
    out.push('| version | accuracy | macro F1 |', '| --- | ---: | ---: |')
    for (const t of p.trend)
      out.push(`| ${t.version}${t.current ? ' (this)' : ''} | ${fmt(t.accuracy)} | ${fmt(t.f1_macro)} |`)
    out.push('')
  }
  out.push('### Confusion matrix (held-out split)', '')
  out.push(...(p.matrix ? matrixMarkdown(p.matrix) : [`No confusion matrix: ${p.noMatrix}.`]), '')
  return out
}

export function failureMarkdown(message: string, exitCode: number): string {
  return `## modelship release failed (exit ${exitCode})\n\n${cell(message)}\n\n`
}

export async function readRunState(runDir: string | undefined): Promise<RunState | undefined> {
  if (!runDir) return undefined
  return readFile(join(runDir, 'state.json'), 'utf8').then(
    (t) => JSON.parse(t) as RunState,
    () => undefined,
  )
}

/** Appends to the file GitHub Actions names in GITHUB_STEP_SUMMARY; nothing when it is unset. */
export async function appendStepSummary(
  env: Readonly<Record<string, string | undefined>>,
  markdown: string,
): Promise<void> {
  const path = env.GITHUB_STEP_SUMMARY
  if (path) await appendFile(path, markdown)
}
