import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startExportServer } from './support/export-server.js'
import { startPostgres, type TestPostgres } from './support/postgres.js'
import { cleanup, cliEnv, INSTANT_TRAINER_CONFIG, makeWorkspace, runCli, snapshotTree } from './support/workspace.js'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
  // The bundled example's feedback as the app stores it: expert-labeled queries, some deleted or unlabeled.
  const rows = readFileSync(join(import.meta.dirname, 'fixtures', 'data', 'feedback.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { text: string; label: string })
  const csv = join(mkdtempSync(join(tmpdir(), 'modelship-pg-rows-')), 'rows.csv')
  writeFileSync(
    csv,
    `${rows.map((r, i) => `${quote(r.text)},${i % 97 === 0 ? '' : quote(r.label)},${i % 101 === 0}`).join('\n')}\n`,
  )
  await pg.psql(`\\copy labeled_queries (query, expert_intent, is_deleted) FROM '${csv}' WITH (FORMAT csv)`)
}, 120_000)
afterAll(async () => {
  await pg?.stop()
})

const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`

describe('release from the app database and from the export API', () => {
  it('source `database` reads DATABASE_URL; the password appears in no output or file', async () => {
    const ws = makeWorkspace({
      config: { ...INSTANT_TRAINER_CONFIG, feedback: { source: 'database' }, deploy: { mode: 'none' } },
    })
    try {
      const r = await runCli(['release', '--workspace', ws, '--yes', '--json'], {
        env: cliEnv({ DATABASE_URL: pg.url }),
      })
      expect(r.stderr).not.toMatch(/^error:/m)
      expect(r.code).toBe(0)
      const summary = JSON.parse(r.stdout) as { runDir: string; modelId: string }
      expect(summary.modelId).toBe('pratikoai/intent-classifier-v1.0')
      const report = JSON.parse(readFileSync(join(summary.runDir, 'dataset-report.json'), 'utf8')) as {
        source: string
        kept: number
      }
      expect(report.source).toMatch(/^postgres:\/\/127\.0\.0\.1:\d+\/pratikoai$/)
      const expected = await pg.psql(
        'SELECT count(*) FROM labeled_queries WHERE is_deleted = false AND expert_intent IS NOT NULL',
      )
      expect(report.kept).toBe(Number(expected.trim()))
      for (const out of [r.stdout, r.stderr])
        expect(out.includes(pg.password) || out.includes(encodeURIComponent(pg.password))).toBe(false)
      for (const [file, bytes] of snapshotTree(ws)) expect(bytes.includes(pg.password), file).toBe(false)
    } finally {
      cleanup(ws)
    }
  })

  it('an unreachable database fails the export resumably (exit 1) naming host and db, never the password', async () => {
    const ws = makeWorkspace({
      config: { ...INSTANT_TRAINER_CONFIG, feedback: { source: 'database' }, deploy: { mode: 'none' } },
    })
    try {
      const url = 'postgres://app:Sup3rS3cretPw@127.0.0.1:9/pratikoai'
      const r = await runCli(['release', '--workspace', ws, '--yes'], { env: cliEnv({ DATABASE_URL: url }) })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/^error: .*127\.0\.0\.1:9.*pratikoai/m)
      expect(r.stdout + r.stderr).not.toContain('Sup3rS3cretPw')
    } finally {
      cleanup(ws)
    }
  })

  it('the export API: a wrong token is refused (exit 2) without printing it; the right one releases', async () => {
    const token = 'api-token-0123456789-secret'
    const rows = readFileSync(join(import.meta.dirname, 'fixtures', 'data', 'feedback.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string; label: string })
    const server = await startExportServer({ rows, tokens: { [token]: 'SUPER_USER' } })
    const ws = makeWorkspace({
      config: {
        ...INSTANT_TRAINER_CONFIG,
        feedback: { source: `${server.url}?format=jsonl` },
        deploy: { mode: 'none' },
      },
    })
    try {
      const wrong = await runCli(['release', '--workspace', ws, '--yes'], {
        env: cliEnv({ FEEDBACK_API_TOKEN: 'api-token-wrong-999999' }),
      })
      expect(wrong.code).toBe(2)
      expect(wrong.stdout + wrong.stderr).not.toContain('api-token-wrong-999999')
      const right = await runCli(['release', '--workspace', ws, '--yes'], {
        env: cliEnv({ FEEDBACK_API_TOKEN: token }),
      })
      expect(right.stderr).toBe('')
      expect(right.code).toBe(0)
      expect(right.stdout).not.toContain(token)
    } finally {
      cleanup(ws)
      await server.close()
    }
  })
})
