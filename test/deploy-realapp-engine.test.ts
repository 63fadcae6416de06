import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FAST_TRAINER } from './support/deploy-workspace.js'
import { type DockerEngine, requireEngineOrSkip, startEngine } from './support/docker-engine.js'
import { importSlimPythonBase, runningOn, SLIM_BASE_IMAGE_TAG } from './support/engine-fleet.js'
import { cleanup, cliEnv, FIXTURES, makeWorkspace, runCli } from './support/workspace.js'

// A tree shaped like the real app on a real engine (compose mode): a base file and a production override whose
// `build: !override` replaces the base build, a `${POSTGRES_PASSWORD:?}` the environment's env file provides, the
// model in the runtime `environment` too, and services the app is deployed without. Then `doctor` against what
// the real `docker compose config` makes of the same files.

const V1 = 'pratikoai/intent-classifier-v1.0'
const FILES = ['docker-compose.yml', 'docker-compose.production.yml']
const ENV_FILE = `POSTGRES_PASSWORD=s3cret-db\nMODELSHIP_EXAMPLE_BASE_IMAGE=${SLIM_BASE_IMAGE_TAG}\n`
const run = promisify(execFile)

interface ComposeConfig {
  services: Record<
    string,
    { build?: { dockerfile?: string; args?: Record<string, string> }; environment?: Record<string, string> }
  >
}

describe.skipIf(!requireEngineOrSkip())('a real-app-shaped tree on a real engine', () => {
  let engine: DockerEngine
  let ws: string
  let env: Record<string, string>

  beforeAll(async () => {
    engine = await startEngine({ name: 'realapp' })
    await importSlimPythonBase(engine)
    ws = makeWorkspace({
      app: join(FIXTURES, 'realapp'),
      config: {
        trainer: { command: [process.execPath, FAST_TRAINER], args: {} },
        deploy: {
          mode: 'compose',
          health_timeout_s: 60,
          verify: null,
          // GET /model from inside the running container, through the environment's own compose files.
          model_check: [
            'docker',
            'compose',
            '--env-file',
            '.env.production',
            ...FILES.flatMap((f) => ['-f', f]),
            'exec',
            '-T',
            'app',
            'python3',
            '-c',
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/model').read().decode())",
          ],
        },
        environments: {
          production: { compose: FILES, env_file: ['.env.production'] },
          qa: { compose: FILES, env_file: ['.env.production'] },
        },
      },
    })
    writeFileSync(join(ws, '.env.production'), ENV_FILE)
    env = cliEnv(engine.env)
  }, 240_000)

  afterAll(async () => {
    if (ws) cleanup(ws)
    await engine?.stop()
  }, 120_000)

  /** What the real compose plugin makes of the environment's files (no engine needed for `config`). */
  const composeConfig = async () => {
    const args = ['compose', '--env-file', '.env.production', ...FILES.flatMap((f) => ['-f', f]), 'config']
    const { stdout } = await run('docker', [...args, '--format', 'json'], { cwd: ws, env: { ...process.env, ...env } })
    return JSON.parse(stdout) as ComposeConfig
  }

  it('release: the image is built from the !override build, the process gets the model and the env-file ' +
    'secret', async () => {
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env, timeoutMs: 240_000 })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const app = await runningOn(engine, 'realapp')
    expect(app?.model).toBe(V1)
    const envOf = async (what: string[]) =>
      (await engine.docker(['inspect', '--format', '{{range .Config.Env}}{{println .}}{{end}}', ...what]))
        .split('\n')
        .filter(Boolean)
    // The running process: the runtime entry of the production file, the base file's anchor with the password.
    expect(await envOf([app!.id])).toEqual(
      expect.arrayContaining([
        `HF_INTENT_MODEL=${V1}`,
        'WORKERS=4',
        'DATABASE_URL=postgresql://pratiko:s3cret-db@db:5432/pratikoai',
        'APP_ENV=production',
      ]),
    )
    // The image itself: the build args of the !override build (the base file's Dockerfile.base-only does not exist).
    expect(await envOf(['--type', 'image', app!.image])).toEqual(
      expect.arrayContaining([`HF_INTENT_MODEL=${V1}`, 'APP_ENV=production']),
    )
    // The dependencies were left alone (`up --no-deps`): only the app runs.
    expect((await engine.docker(['ps', '--format', '{{.Names}}'])).trim()).toBe('realapp-app-1')
    // What the real compose makes of the edited files is what modelship says wins.
    const config = await composeConfig()
    expect(config.services.app?.build?.args?.HF_INTENT_MODEL).toBe(V1)
    expect(config.services.app?.environment?.HF_INTENT_MODEL).toBe(V1)
    const current = await runCli(['current', '--workspace', ws, '--json'], { env })
    expect(current.code, current.stderr).toBe(0)
    const production = (JSON.parse(current.stdout) as { environments: Record<string, { model?: string }> }).environments
      .production
    expect(production?.model).toBe(V1)
  }, 300_000)

  it('doctor reads the Dockerfile the real `docker compose config` builds from, and finds no error', async () => {
    const config = await composeConfig()
    const dockerfile = config.services.app?.build?.dockerfile
    expect(dockerfile).toBe('Dockerfile')
    const r = await runCli(['doctor', '--workspace', ws, '--json'], { env })
    expect(r.code, r.stdout).toBe(0)
    const findings = JSON.parse(r.stdout) as Array<{ check: string; level: string; file?: string }>
    expect(findings.filter((f) => f.level === 'error')).toEqual([])
    const dockerfileChecks = findings.filter((f) => f.check.startsWith('dockerfile.') && f.file)
    expect(dockerfileChecks.length).toBeGreaterThan(0)
    for (const f of dockerfileChecks) expect(f.file).toBe(dockerfile)
  }, 120_000)

  it('a required ${VAR:?} the env file lacks: doctor errors on the line real compose refuses', async () => {
    writeFileSync(join(ws, '.env.production'), `MODELSHIP_EXAMPLE_BASE_IMAGE=${SLIM_BASE_IMAGE_TAG}\n`)
    try {
      const refused = await composeConfig().then(
        () => undefined,
        (e: Error & { stderr?: string }) => e.stderr ?? e.message,
      )
      expect(refused).toMatch(/POSTGRES_PASSWORD/)
      const r = await runCli(['doctor', '--workspace', ws, '--json'], { env })
      expect(r.code).toBe(2)
      const findings = JSON.parse(r.stdout) as Array<{ level: string; message: string; file?: string; line?: number }>
      const errors = findings.filter((f) => f.level === 'error')
      expect(errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            file: 'docker-compose.yml',
            message: expect.stringContaining('POSTGRES_PASSWORD'),
          }),
        ]),
      )
    } finally {
      writeFileSync(join(ws, '.env.production'), ENV_FILE)
    }
  }, 120_000)
})
