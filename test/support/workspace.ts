import { spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, lstatSync, readlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'

export const REPO = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '')
export const CLI = join(REPO, 'dist', 'scripts', 'cli.js')
export const TRAINER = join(REPO, 'scripts', 'train_intent_classifier.py')
/** A trainer that trains nothing, fast (test/fixtures/trainers/instant_trainer.py). */
export const INSTANT_TRAINER = join(REPO, 'test', 'fixtures', 'trainers', 'instant_trainer.py')
/** Config for tests about modelship's own flow (sources, versions, locks, resume), not the model. */
export const INSTANT_TRAINER_CONFIG = { trainer: { command: ['python3', INSTANT_TRAINER] } }

export interface WorkspaceOptions {
  /** Extra modelship.yaml content, deep-merged over the test defaults. */
  config?: Record<string, unknown>
  /** Lines of the feedback file (default: the bundled example's). */
  feedback?: string
  /** The app tree to copy (default {@link APP_FIXTURE}). */
  app?: string
}

export const FIXTURES = join(REPO, 'test', 'fixtures')
/** The app tree tests release into (compose files, Dockerfile, .env, .dockerignore); never the bundled example. */
export const APP_FIXTURE = join(FIXTURES, 'app')

/**
 * A temp copy of an app fixture tree (default test/fixtures/app) and the fixture feedback, with a test
 * modelship.yaml. Never the bundled example: the README's first command edits examples/app, and the
 * tests must pass after it.
 */
export function makeWorkspace(opts: WorkspaceOptions = {}): string {
  const ws = mkdtempSync(join(tmpdir(), 'modelship-ws-'))
  cpSync(opts.app ?? APP_FIXTURE, ws, { recursive: true })
  // Every third row of the example's data (542 rows, ~110 a label): the real trainer learns it in ~1 s.
  cpSync(join(FIXTURES, 'data', 'feedback.jsonl'), join(ws, 'feedback.jsonl'))
  if (opts.feedback !== undefined) writeFileSync(join(ws, 'feedback.jsonl'), opts.feedback)
  // The fixture app's compose files require POSTGRES_PASSWORD, which its env file holds; other trees bring their own.
  const envFile = opts.app === undefined ? { env_file: ['.env.test'] } : {}
  const config = deepMerge(
    {
      registry: 'local',
      feedback: { source: 'feedback.jsonl' },
      trainer: { command: ['python3', TRAINER], args: { epochs: 3, seed: 7, backend: 'baseline' } },
      gates: { min_per_label: 20 },
      deploy: { mode: 'compose', health_timeout_s: 5 },
      environments: {
        production: { compose: ['docker-compose.yml', 'docker-compose.production.yml'], ...envFile },
        qa: { compose: ['docker-compose.yml', 'docker-compose.qa.yml'], ...envFile },
      },
    },
    opts.config ?? {},
  )
  writeFileSync(join(ws, 'modelship.yaml'), stringify(config))
  return ws
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a }
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k]
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v
  }
  return out
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** A clean environment for the CLI: no secrets from the test runner, the given PATH and extras. */
export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    HOME: process.env.HOME ?? '/root',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    CI: 'true',
    // The trainer --help cache of dry runs goes to the user's cache directory: the tests' own, not ~/.cache.
    XDG_CACHE_HOME: join(tmpdir(), 'modelship-test-cache'),
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v
  return env
}

/** Runs `node dist/scripts/cli.js <args>`; `onStdout` sees output as it arrives (e.g. to send SIGINT mid-step). */
export function runCli(
  args: string[],
  o: {
    env?: Record<string, string>
    cwd?: string
    onOutput?: (text: string, child: ReturnType<typeof spawn>) => void
    timeoutMs?: number
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: o.cwd ?? REPO,
      env: o.env ?? cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 90_000)
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      o.onOutput?.(stdout + stderr, child)
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      o.onOutput?.(stdout + stderr, child)
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/**
 * Every path below `dir` with its type and content — files with their bytes, directories (so a new empty
 * directory shows), symlinks with their target — for "nothing changed" assertions.
 */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name)
      const rel = full.slice(dir.length + 1)
      const st = lstatSync(full)
      if (st.isSymbolicLink()) out.set(rel, `link -> ${readlinkSync(full)}`)
      else if (st.isDirectory()) {
        out.set(`${rel}/`, 'dir')
        walk(full)
      } else out.set(rel, `file ${readFileSync(full, 'latin1')}`)
    }
  }
  walk(dir)
  return out
}

export function readJsonLines<T>(path: string): T[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as T)
  } catch {
    return []
  }
}

/** The model's labels in the fixture data. */
export const FIXTURE_LABELS = [
  'chitchat',
  'theoretical_definition',
  'technical_research',
  'calculator',
  'normative_reference',
]

/**
 * Shifts the label of every `every`-th row of the workspace's feedback to the next label: a model trained on it gets
 * worse.
 */
export function addLabelNoise(ws: string, every: number): void {
  const rows = readFileSync(join(ws, 'feedback.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l, i) => {
      const row = JSON.parse(l) as { text: string; label: string }
      const next = FIXTURE_LABELS[(FIXTURE_LABELS.indexOf(row.label) + 1) % FIXTURE_LABELS.length]
      return JSON.stringify(i % every === 0 ? { ...row, label: next } : row)
    })
  writeFileSync(join(ws, 'feedback.jsonl'), `${rows.join('\n')}\n`)
}
