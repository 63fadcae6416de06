import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createDockerShim } from './support/docker-shim.js'
import { makeFixtureWorkspace } from './support/fixture-app.js'
import { cleanup, cliEnv, readJsonLines, runCli } from './support/workspace.js'

const PROD = 'docker-compose.production.yml'
const V = (v: string): string => `pratikoai/intent-classifier-v${v}`
const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

interface HistoryLine {
  to: string | null
  outcome: string
  deployed: boolean
  notDeployed?: string
  runId: string
  changes?: {
    since: string | null
    rows: Record<string, { before: number | null; after: number; change: number | null }>
  }
}

describe("an operator's view of releases (fixture app, real trainer, local registry, docker shim)", () => {
  it(
    'train.log and the report; release notes; DEPLOYED vs CONFIGURED; rollback never moves forward; unfinished runs ' +
      'warned',
    async () => {
      const ws = makeFixtureWorkspace()
      // The third build fails: that release stays unfinished.
      const shim = createDockerShim({ fail: 'build@2' })
      cleanups.push(
        () => cleanup(ws),
        () => shim.cleanup(),
      )
      const env = cliEnv(shim.env)
      const cli = (...args: string[]) => runCli([...args, '--workspace', ws], { env })
      const original = readFileSync(join(ws, PROD), 'utf8')

      // 1. A deployed release: the trainer's whole output is in train.log, the report printed intact.
      const first = await cli('release', '--yes')
      expect(first.stderr).not.toMatch(/^error:/m)
      expect(first.code).toBe(0)
      const h1 = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
      const runDir = join(ws, '.modelship', 'runs', h1[0]!.runId)
      const log = readFileSync(join(runDir, 'train.log'), 'utf8')
      expect(log).toMatch(/^epoch 3\/3 loss=/m)
      expect(log).toMatch(/^ +precision +recall +f1-score +support$/m)
      // Laid out as printed, blank lines included: the header, a blank line, the rows.
      expect(log).toMatch(/^ +precision +recall +f1-score +support\n\n +\S+ +\d/m)
      expect(log).toMatch(/\n\n +accuracy +\d/)
      const reportRows = log.split('\n').filter((l) => /^\s*(chitchat|calculator|macro avg|weighted avg)\s+\d/.test(l))
      expect(reportRows).toHaveLength(4)
      // Each report row is printed as the trainer aligned it, indented as a block.
      for (const row of reportRows) expect(first.stdout).toContain(`\n    ${row}\n`)
      expect(first.stdout).toContain(`  trainer output: ${join(runDir, 'train.log')}`)
      expect(first.stdout).toMatch(/^Done in [\d.]+ (s|ms)\.$/m)
      // Every finished step's line ends with its duration.
      expect(first.stdout).toMatch(/^✔ Trained model: accuracy [\d.]+, macro F1 [\d.]+ \([\d.]+ (s|ms)\)$/m)

      // 2. More calculator rows, released without deploying: the note counts them; history says not deployed.
      appendFileSync(
        join(ws, 'feedback.jsonl'),
        Array.from({ length: 15 }, (_, i) => `{"text": "calcola la rata numero ${i}", "label": "calculator"}\n`).join(
          '',
        ),
      )
      const second = await cli('release', '--yes', '--no-deploy')
      expect(second.code).toBe(0)
      expect(second.stdout).toContain(`Released ${V('1.1')} to production (not deployed: --no-deploy)`)
      expect(second.stdout).toContain(`  changes since ${V('1.0')}:`)
      expect(second.stdout).toMatch(/^ {6}calculator +55 \(\+15\)$/m)
      expect(second.stdout).toMatch(/^ {6}chitchat +40 \(±0\)$/m)
      const h2 = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl'))
      expect(h2[1]).toMatchObject({ to: V('1.1'), deployed: false, notDeployed: '--no-deploy' })
      expect(h2[1]!.changes).toMatchObject({
        since: V('1.0'),
        rows: { calculator: { before: 40, after: 55, change: 15 } },
      })
      const history = await cli('history')
      expect(history.stdout).toMatch(
        new RegExp(
          /release +production +pratikoai\/intent-classifier-v1\.0 +pratikoai\/intent-classifier-v1\.1 +/.source +
            /released \(not deployed: --no-deploy\)/.source,
        ),
      )

      // 3. list: the files name v1.1, but v1.0 is what runs.
      const list = await cli('list')
      expect(list.code).toBe(0)
      const header = list.stdout.split('\n').find((l) => l.startsWith('MODEL'))!
      expect(header).toMatch(/CONFIGURED +DEPLOYED$/)
      expect(list.stdout).toMatch(/intent-classifier-v1\.1 .* production +-$/m)
      expect(list.stdout).toMatch(/intent-classifier-v1\.0 .* - +production$/m)
      const json = JSON.parse((await cli('list', '--json')).stdout) as Array<{
        id: string
        environments: string[]
        deployedIn: string[]
      }>
      expect(json.map((r) => [r.id, r.environments, r.deployedIn])).toEqual([
        [V('1.1'), ['production'], []],
        [V('1.0'), [], ['production']],
      ])

      // 4. `git checkout` brings back the original file (mdeberta): history's "previous" (v1.0) is forward from there.
      const released = readFileSync(join(ws, PROD), 'utf8')
      writeFileSync(join(ws, PROD), original)
      const refused = await cli('rollback')
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(
        /^error: rollback: the files of production name mdeberta, older than .*v1\.0 .*would move production forward/m,
      )
      expect(refused.stderr).toContain('--to pratikoai/intent-classifier-v1.0')
      expect(readFileSync(join(ws, PROD), 'utf8')).toBe(original)
      writeFileSync(join(ws, PROD), released)

      // 5. A release whose build fails stays unfinished; the next one names it, its step and its version.
      const failed = await cli('release', '--yes', '--force')
      expect(failed.code).toBe(1)
      const stuck = readJsonLines<HistoryLine>(join(ws, '.modelship', 'history.jsonl')).at(-1)!.runId
      expect(existsSync(join(ws, '.modelship', 'runs', stuck, 'state.json'))).toBe(true)
      const next = await cli('release', '--dry-run')
      expect(next.code).toBe(0)
      expect(next.stdout).toContain(
        `warning: run ${stuck} of production is unfinished (failed at build, version ${V('1.2')} reserved); ` +
          `continue it with \`modelship release --resume ${stuck}\` or set it aside with \`modelship runs abandon ` +
          `${stuck}\``,
      )
      // Another environment's new run is not warned about it.
      expect((await cli('release', '--dry-run', '--env', 'qa')).stdout).not.toContain('unfinished')
    },
  )
})
