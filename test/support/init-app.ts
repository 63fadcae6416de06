import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO } from './workspace.js'

/** A temp copy of test/fixtures/init-app: an app with compose files, two overrides, an env file and feedback. */
export function copyInitApp(): string {
  const ws = mkdtempSync(join(tmpdir(), 'modelship-init-'))
  cpSync(join(REPO, 'test', 'fixtures', 'init-app'), ws, { recursive: true })
  return ws
}

/** After `init`: the bundled trainer's fast, offline backend, so a real release takes seconds. */
export function useBaselineTrainer(ws: string): void {
  const path = join(ws, 'modelship.yaml')
  const text = readFileSync(path, 'utf8')
  const next = text.replace('args: { epochs: 5 }', 'args: { epochs: 3, seed: 7, backend: baseline }')
  if (next === text) throw new Error('modelship.yaml has no trainer args line to change')
  writeFileSync(path, next)
}
