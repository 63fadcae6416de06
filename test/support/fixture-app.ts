import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { REPO, TRAINER } from './workspace.js'

/** The small compose app in test/fixtures/ux-app: base + production/qa overrides, Dockerfile, 200 labeled rows. */
export const UX_APP = join(REPO, 'test', 'fixtures', 'ux-app')

/**
 * A temp copy of test/fixtures/ux-app with a modelship.yaml for fast releases: local registry, the
 * real trainer's baseline backend, gates that the small dataset passes, `extra` merged on top
 * (one level deep).
 */
export function makeFixtureWorkspace(extra: Record<string, Record<string, unknown> | string> = {}): string {
  const ws = mkdtempSync(join(tmpdir(), 'modelship-ux-'))
  cpSync(UX_APP, ws, { recursive: true })
  const base: Record<string, Record<string, unknown> | string> = {
    registry: 'local',
    feedback: { source: 'feedback.jsonl' },
    trainer: { command: ['python3', TRAINER], args: { epochs: 3, seed: 7, backend: 'baseline' } },
    gates: { min_per_label: 20, no_regression: false },
    deploy: { mode: 'compose', health_timeout_s: 5 },
    environments: {
      production: { compose: ['docker-compose.yml', 'docker-compose.production.yml'] },
      qa: { compose: ['docker-compose.yml', 'docker-compose.qa.yml'] },
    },
  }
  const config: Record<string, unknown> = { ...base }
  for (const [k, v] of Object.entries(extra)) {
    const prev = base[k]
    config[k] = typeof v === 'object' && typeof prev === 'object' ? { ...prev, ...v } : v
  }
  writeFileSync(join(ws, 'modelship.yaml'), stringify(config))
  return ws
}
