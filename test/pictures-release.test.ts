import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { TrainingMetrics } from '../pipeline/model/metrics.js'
import { createLocalRegistry } from '../pipeline/registry/local.js'
import { startHubServer } from './hub-server/index.js'
import { lookAtSvg, rendererAvailable } from './support/look-at-svg.js'
import { cleanup, cliEnv, makeWorkspace, runCli, TRAINER } from './support/workspace.js'

// "Done when" of the pictures: two releases of the fixture app with the real trainer; the v1.1 card holds the
// three SVGs, the trend shows v1.0 and v1.1, the matrix adds up to the held-out size, `show v1.1` prints it.

const PICTURES = ['confusion_matrix.svg', 'per_class_f1.svg', 'trend.svg']
const V = (v: string) => `pratikoai/intent-classifier-v${v}`
const TOKEN = `hf_writer${randomBytes(12).toString('hex')}`
const render = rendererAvailable()

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** A workspace whose first release learns two thirds of the feedback and whose second learns all of it. */
function twoReleaseWorkspace(config: Record<string, unknown>): { ws: string; secondFeedback: () => void } {
  const ws = makeWorkspace({ config: { deploy: { mode: 'none' }, ...config } })
  cleanups.push(() => cleanup(ws))
  const rows = readFileSync(join(ws, 'feedback.jsonl'), 'utf8').trim().split('\n')
  // Every fifth row is the evaluation set, never trained on.
  writeFileSync(join(ws, 'eval.jsonl'), `${rows.filter((_, i) => i % 5 === 0).join('\n')}\n`)
  const training = rows.filter((_, i) => i % 5 !== 0)
  writeFileSync(join(ws, 'feedback.jsonl'), `${training.filter((_, i) => i % 3 !== 0).join('\n')}\n`)
  return { ws, secondFeedback: () => writeFileSync(join(ws, 'feedback.jsonl'), `${training.join('\n')}\n`) }
}

/** The relative links of a card: `![alt](path)` and `[text](path)` without a scheme. */
const relativeLinks = (card: string): string[] =>
  [...card.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((p) => !/^[a-z]+:/i.test(p))

/** The matrix of metrics.json as `show` aligns it: the label, then each count right-aligned. */
const matrixLine = (label: string, row: number[]): RegExp =>
  new RegExp(`^ {2}${label} +${row.map(String).join(' +')} +${row.reduce((a, b) => a + b, 0)}$`, 'm')

describe('two releases: the v1.1 card holds its pictures', () => {
  it('local registry: three SVGs beside README.md, the trend shows v1.0 and v1.1, show v1.1 prints the matrix; CI ' +
    'summary and list', async () => {
    const { ws, secondFeedback } = twoReleaseWorkspace({
      trainer: {
        command: ['python3', TRAINER],
        args: { epochs: 3, seed: 7, backend: 'baseline' },
        evaluate: ['python3', TRAINER, 'evaluate'],
      },
      gates: { eval_set: 'eval.jsonl', min_accuracy: 0.5, min_class_f1: 0.3, min_per_label: 20 },
    })
    const summary = join(ws, 'step-summary.md')
    const env = cliEnv({ GITHUB_STEP_SUMMARY: summary })
    const first = await runCli(['release', '--workspace', ws, '--yes'], { env, timeoutMs: 110_000 })
    expect(first.stderr).not.toMatch(/^error:/m)
    expect(first.code).toBe(0)
    secondFeedback()
    const second = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env, timeoutMs: 110_000 })
    expect(second.stderr).not.toMatch(/^error:/m)
    expect(second.code).toBe(0)

    const root = join(ws, '.modelship', 'registry')
    const repo = join(root, 'pratikoai', 'intent-classifier-v1.1')
    const registry = createLocalRegistry({ root, org: 'pratikoai', prefix: 'intent-classifier', now: () => new Date() })
    const manifest = (await registry.readManifest(V('1.1')))!
    // Every relative link of the card is a file of the pushed version, and the pictures are among them.
    const card = readFileSync(join(repo, 'README.md'), 'utf8')
    const links = relativeLinks(card)
    expect(links).toEqual(expect.arrayContaining(PICTURES))
    for (const link of links) expect(Object.keys(manifest), link).toContain(link)

    const metrics = JSON.parse(readFileSync(join(repo, 'metrics.json'), 'utf8')) as TrainingMetrics
    const matrix = metrics.confusion_matrix!
    expect(matrix.labels).toEqual(Object.keys(metrics.per_class))
    expect(matrix.counts.flat().reduce((a, b) => a + b, 0)).toBe(metrics.n_test)
    for (const [i, label] of matrix.labels.entries())
      expect(matrix.counts[i]!.reduce((a, b) => a + b, 0)).toBe(metrics.per_class[label]!.support)
    // trainer.evaluate scored the new and the running model on the eval set, each with its matrix.
    const evalRows = readFileSync(join(ws, 'eval.jsonl'), 'utf8').trim().split('\n').length
    expect(metrics.eval_set!.confusion_matrix!.counts.flat().reduce((a, b) => a + b, 0)).toBe(evalRows)
    expect(metrics.eval_set!.current!.modelId).toBe(V('1.0'))
    expect(metrics.eval_set!.current!.confusion_matrix!.counts.flat().reduce((a, b) => a + b, 0)).toBe(evalRows)
    expect(card).toContain(`${V('1.0')}, which it replaces`)

    const looked = Object.fromEntries(PICTURES.map((f) => [f, lookAtSvg(readFileSync(join(repo, f), 'utf8'), render)]))
    expect(looked['trend.svg']!.texts).toEqual(expect.arrayContaining(['v1.0', 'v1.1', 'this version']))
    const v10 = JSON.parse(readFileSync(join(root, 'pratikoai', 'intent-classifier-v1.0', 'metrics.json'), 'utf8'))
    for (const score of [v10.accuracy, v10.f1_macro, metrics.accuracy, metrics.f1_macro])
      expect(looked['trend.svg']!.texts).toContain(score.toFixed(4))
    expect(looked['per_class_f1.svg']!.texts).toEqual(
      expect.arrayContaining(['v1.1 (this version)', 'v1.0 (replaced)']),
    )
    for (const row of matrix.counts)
      for (const c of row) expect(looked['confusion_matrix.svg']!.texts).toContain(String(c))
    if (render)
      for (const [f, l] of Object.entries(looked)) {
        expect(l.png, f).toMatchObject({ width: Math.ceil(l.width), height: Math.ceil(l.height) })
        expect(l.png!.inkShare, f).toBeGreaterThan(0.03)
      }
    // The v1.0 card was pushed before v1.1 existed and still shows v1.0 alone.
    const firstTrend = lookAtSvg(
      readFileSync(join(root, 'pratikoai', 'intent-classifier-v1.0', 'trend.svg'), 'utf8'),
      false,
    )
    expect(firstTrend.texts).not.toContain('v1.1')

    const show = await runCli(['show', 'v1.1', '--workspace', ws], { env })
    expect(show.stderr).toBe('')
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(
      new RegExp(`^accuracy ${metrics.accuracy.toFixed(4)}  macro F1 ${metrics.f1_macro.toFixed(4)}`, 'm'),
    )
    expect(show.stdout).toContain(`confusion matrix, held-out split (${metrics.n_test} examples;`)
    expect(show.stdout).toMatch(new RegExp(`^ {2}true \\\\ predicted +${matrix.labels.join(' +')} +total$`, 'm'))
    for (const [i, label] of matrix.labels.entries()) expect(show.stdout).toMatch(matrixLine(label, matrix.counts[i]!))
    expect(show.stdout).toMatch(/^ {2}v1\.0 +0\.\d{4} +0\.\d{4}$/m)
    expect(show.stdout).toMatch(/^ {2}v1\.1 +0\.\d{4} +0\.\d{4} +<- this version$/m)
    for (const f of PICTURES) expect(show.stdout).toContain(`  ${f}  ${join(repo, f)}`)
    const json = await runCli(['show', '1.1', '--json', '--workspace', ws], { env })
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      id: V('1.1'),
      confusion_matrix: { ...matrix, total: metrics.n_test },
      trend: [
        { version: 'v1.0', current: false },
        { version: 'v1.1', current: true },
      ],
      pictures: Object.fromEntries(PICTURES.map((f) => [f, join(repo, f)])),
    })
    const missing = await runCli(['show', 'v9.9', '--workspace', ws], { env })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/^error: show: pratikoai\/intent-classifier-v9\.9 is not in local registry at /m)

    // The CI summary: the trend as a Mermaid xychart and the matrix as a table.
    const md = readFileSync(summary, 'utf8')
    const secondRun = md.slice(md.lastIndexOf('## modelship release'))
    expect(secondRun).toContain('```mermaid\nxychart-beta\n')
    expect(secondRun).toContain('    x-axis ["v1.0", "v1.1 (this)"]')
    expect(secondRun).toContain(`    line [${v10.accuracy.toFixed(4)}, ${metrics.accuracy.toFixed(4)}]`)
    expect(secondRun).toContain(`| true \\ predicted | ${matrix.labels.join(' | ')} | total |`)
    expect(secondRun).toContain(
      `| total | ${matrix.labels.map((_, j) => matrix.counts.reduce((n, r) => n + r[j]!, 0)).join(' | ')} | ` +
        `${metrics.n_test} |`,
    )

    // `list`: a sparkline of macro F1 per row, the line up to that version.
    const list = await runCli(['list', '--workspace', ws], { env })
    expect(list.stdout).toMatch(/^MODEL +VERSION +PRIVATE +CREATED +ACCURACY +F1 +F1-TREND +CONFIGURED +DEPLOYED$/m)
    expect(list.stdout).toMatch(/intent-classifier-v1\.1 +v1\.1 .* 0\.\d{4} +[▁-█]{2} /)
    expect(list.stdout).toMatch(/intent-classifier-v1\.0 +v1\.0 .* 0\.\d{4} +[▁-█] /)
    const listed = JSON.parse((await runCli(['list', '--json', '--workspace', ws], { env })).stdout)
    expect(listed[0].f1_macro_trend).toEqual([v10.f1_macro, metrics.f1_macro])
  }, 300_000)

  it('Hub test server: the pictures are files of the pushed commit that the card links to; show names their ' +
    'pages', async () => {
    const hub = await startHubServer({ pageSize: 2 })
    hub.addToken(TOKEN, { user: 'alice', orgs: [{ name: 'pratikoai', role: 'write' }] })
    cleanups.push(() => hub.close())
    const { ws, secondFeedback } = twoReleaseWorkspace({
      registry: 'hf',
      gates: { min_accuracy: 0.5, min_class_f1: 0.3, min_per_label: 20 },
    })
    const env = cliEnv({ HF_ENDPOINT: hub.url, HF_TOKEN: TOKEN })
    const first = await runCli(['release', '--workspace', ws, '--yes'], { env, timeoutMs: 110_000 })
    expect(first.stderr).not.toMatch(/^error:/m)
    expect(first.code).toBe(0)
    secondFeedback()
    const second = await runCli(['release', '--workspace', ws, '--yes', '--force'], { env, timeoutMs: 110_000 })
    expect(second.stderr).not.toMatch(/^error:/m)
    expect(second.code).toBe(0)
    const commit = hub.repos.get(V('1.1'))!.commits.at(-1)!
    const file = (path: string): string => commit.files.get(path)!.content!.toString('utf8')
    const links = relativeLinks(file('README.md'))
    expect(links).toEqual(expect.arrayContaining(PICTURES))
    for (const link of links) expect([...commit.files.keys()], link).toContain(link)
    expect(lookAtSvg(file('trend.svg'), render).texts).toEqual(expect.arrayContaining(['v1.0', 'v1.1']))
    const metrics = JSON.parse(file('metrics.json')) as TrainingMetrics
    expect(metrics.confusion_matrix!.counts.flat().reduce((a, b) => a + b, 0)).toBe(metrics.n_test)

    const show = await runCli(['show', 'v1.1', '--workspace', ws], { env })
    expect(show.code).toBe(0)
    expect(show.stdout).toMatch(/^ {2}true \\ predicted +chitchat/m)
    for (const f of PICTURES) expect(show.stdout).toContain(`  ${f}  ${hub.url}/${V('1.1')}/blob/main/${f}`)
    expect(show.stdout + show.stderr).not.toContain(TOKEN)
    expect(existsSync(join(ws, '.modelship', 'registry'))).toBe(false)
  }, 300_000)
})
