import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isModelshipError } from '../pipeline/engine/errors.js'
import { describeOutcome, runningModelOf, type HistoryEntry } from '../pipeline/history/audit-log.js'
import { driftOf } from '../pipeline/history/drift.js'
import { rollbackTargetOf } from '../pipeline/history/rollback-target.js'
import { computeChanges, describeChanges, loadBaseline, renderChangesMarkdown } from '../pipeline/release/changes.js'

const V = (v: string): string => `pratikoai/intent-classifier-v${v}`
let n = 0
/** History lines as the release journal writes them, given newest first like History.read(). */
function entry(e: Partial<HistoryEntry> & Pick<HistoryEntry, 'from' | 'to'>): HistoryEntry {
  n++
  return {
    at: `2026-01-0${n}T00:00:00.000Z`,
    action: 'release',
    env: 'production',
    outcome: 'success',
    deployed: true,
    user: 'u',
    host: 'h',
    runId: `run-${n}`,
    ...e,
  }
}

const dirs: string[] = []
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true })
})

describe('release changes (rows per label, metric deltas)', () => {
  it("are computed from the current model run's dataset-report.json and the new one", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'modelship-notes-'))
    dirs.push(stateDir)
    mkdirSync(join(stateDir, 'runs', 'run-a'), { recursive: true })
    writeFileSync(
      join(stateDir, 'runs', 'run-a', 'dataset-report.json'),
      JSON.stringify({
        source: 'f',
        rowsRead: 130,
        kept: 130,
        perLabel: { chitchat: 50, calculator: 60, legacy: 20 },
        dropped: {},
        conflicts: [],
        sha256: 'x',
      }),
    )
    const history: HistoryEntry[] = [
      entry({ action: 'promote', env: 'qa', from: null, to: V('1.0') }),
      entry({ env: 'qa', from: 'mdeberta', to: V('1.0'), runId: 'run-a', metrics: { accuracy: 0.9, f1_macro: 0.88 } }),
    ]
    const baseline = await loadBaseline(V('1.0'), history, stateDir)
    expect(baseline).toEqual({
      modelId: V('1.0'),
      perLabel: { chitchat: 50, calculator: 60, legacy: 20 },
      metrics: { accuracy: 0.9, f1_macro: 0.88 },
    })

    const changes = computeChanges(baseline, {
      perLabel: { chitchat: 70, calculator: 55 },
      metrics: { accuracy: 0.95, f1_macro: 0.9 },
    })
    expect(changes.since).toBe(V('1.0'))
    expect(changes.datasetUnknown).toBeUndefined()
    expect(changes.rows).toEqual({
      chitchat: { before: 50, after: 70, change: 20 },
      calculator: { before: 60, after: 55, change: -5 },
      legacy: { before: 20, after: 0, change: -20 },
    })
    expect(changes.totalRows).toEqual({ before: 130, after: 125, change: -5 })
    expect(changes.metrics!.accuracy.change).toBeCloseTo(0.05, 10)
    expect(describeChanges(changes)).toEqual([
      `changes since ${V('1.0')}:`,
      '  rows 125 (−5)',
      '    chitchat       70 (+20)',
      '    calculator     55 (−5)',
      '    legacy          0 (−20)',
      '  accuracy 0.9500 (+0.0500), macro F1 0.9000 (+0.0200)',
    ])
    const md = renderChangesMarkdown(changes)
    expect(md).toMatch(/^## Changes\n/)
    expect(md).toContain('| chitchat | 50 | 70 | +20 |')
    expect(md).toContain('| **total** | 130 | 125 | −5 |')
    expect(md).toContain('| accuracy | 0.9000 | 0.9500 | +0.0500 |')
  })

  it(
    'say the earlier rows are unknown when the run directory is gone or the model was never released ' + 'here',
    async () => {
      const stateDir = mkdtempSync(join(tmpdir(), 'modelship-notes-'))
      dirs.push(stateDir)
      const gone = await loadBaseline(
        V('1.0'),
        [entry({ from: 'mdeberta', to: V('1.0'), runId: 'run-x', metrics: { accuracy: 0.9, f1_macro: 0.9 } })],
        stateDir,
      )
      expect(gone.datasetUnknown).toBe(
        `${join(stateDir, 'runs', 'run-x', 'dataset-report.json')} is missing or unreadable`,
      )
      const c = computeChanges(gone, { perLabel: { chitchat: 3 }, metrics: { accuracy: 0.8, f1_macro: 0.7 } })
      expect(c.rows.chitchat).toEqual({ before: null, after: 3, change: null })
      expect(c.metrics!.accuracy).toMatchObject({ before: 0.9, after: 0.8 })
      expect(renderChangesMarkdown(c)).toContain('| chitchat | ? | 3 | unknown |')
      expect((await loadBaseline('mdeberta', [], stateDir)).datasetUnknown).toBe(
        'no release of mdeberta in the history',
      )
      expect((await loadBaseline(undefined, [], stateDir)).modelId).toBeNull()
    },
  )
})

describe('configured vs running', () => {
  it('runningModelOf: the newest redeploy; a rolled-back release left the earlier model running', () => {
    const history = [
      entry({ from: V('1.1'), to: V('1.2'), outcome: 'rolled_back' }),
      entry({ from: V('1.0'), to: V('1.1'), deployed: false, notDeployed: '--no-deploy' }),
      entry({ from: 'mdeberta', to: V('1.0') }),
    ]
    expect(runningModelOf(history, 'production')?.model).toBe(V('1.1'))
    expect(runningModelOf(history.slice(1), 'production')?.model).toBe(V('1.0'))
    expect(runningModelOf(history, 'qa')).toBeUndefined()
    expect(describeOutcome(history[1]!)).toBe('released (not deployed: --no-deploy)')
    expect(describeOutcome(history[2]!)).toBe('released')
    expect(describeOutcome({ ...history[2]!, outcome: 'failed', step: 'push' })).toBe('failed at push')
  })

  it('driftOf warns when the files disagree with the last recorded change and with what runs', () => {
    const history = [entry({ from: V('1.0'), to: V('1.1') }), entry({ from: 'mdeberta', to: V('1.0') })]
    expect(driftOf('production', V('1.1'), history)).toEqual({
      env: 'production',
      configured: V('1.1'),
      recorded: V('1.1'),
      running: V('1.1'),
      warnings: [],
    })
    // `git checkout` of the compose files brought back v1.0.
    const drift = driftOf('production', V('1.0'), history)
    expect(drift.recorded).toBe(V('1.1'))
    expect(drift.warnings).toHaveLength(2)
    expect(drift.warnings[0]).toMatch(
      new RegExp(
        /^production: the files name .*v1\.0 but the history's last change .* set .*/.source +
          /v1\.1: the files were changed outside modelship$/.source,
      ),
    )
    expect(drift.warnings[1]).toMatch(/v1\.1 is running .* but the files name .*v1\.0/)
    // A release that was not deployed: files and history agree, the service still runs the earlier model.
    const notDeployed = [entry({ from: V('1.1'), to: V('1.2'), deployed: false }), ...history]
    expect(driftOf('production', V('1.2'), notDeployed).warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          /^production: .*v1\.1 is running .* but the files name .*v1\.2; /.source +
            /`modelship promote .*v1\.2 --env production --deploy`/.source,
        ),
      ),
    ])
    expect(driftOf('qa', 'mdeberta', history).warnings).toEqual([])
  })
})

describe('rollback direction', () => {
  const history = [
    entry({ from: V('1.1'), to: V('1.2') }),
    entry({ from: V('1.0'), to: V('1.1') }),
    entry({ from: 'mdeberta', to: V('1.0') }),
  ]
  const target = (filesModel: string | undefined) =>
    rollbackTargetOf({
      entries: history,
      env: 'production',
      filesModel,
      org: 'pratikoai',
      prefix: 'intent-classifier',
      baseAliases: ['mdeberta'],
    })
  const refusal = (filesModel: string): string => {
    try {
      target(filesModel)
    } catch (e) {
      if (isModelshipError(e)) return `${e.code}: ${e.message}`
      throw e
    }
    throw new Error('not refused')
  }

  it('goes to the model before the latest change, from what the files name', () => {
    expect(target(V('1.2'))).toEqual({ from: V('1.2'), to: V('1.1') })
  })

  it('refuses to move forward (files restored to an older model) or nowhere; exit-2 usage errors', () => {
    expect(refusal(V('1.0'))).toBe(
      `USAGE: rollback: the files of production name ${V('1.0')}, older than ${V('1.1')} (the model before ` +
        `${V('1.2')} in the history); rolling back would move production forward`,
    )
    expect(refusal('mdeberta')).toMatch(/^USAGE: .*name mdeberta, older than .*v1\.1.*forward$/)
    expect(refusal(V('1.1'))).toMatch(
      new RegExp(
        /^USAGE: rollback: the files of production already name .*v1\.1, /.source +
          /the model before .*v1\.2 in the history; nothing to roll back$/.source,
      ),
    )
  })
})
