import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../pipeline/config/load.js'
import { checkApp } from '../pipeline/doctor/app-checks.js'
import { isExcluded } from '../pipeline/doctor/dockerignore.js'
import { checkDockerfile } from '../pipeline/doctor/dockerfile.js'
import type { Finding } from '../pipeline/doctor/finding.js'
import { userFiles } from '../pipeline/ports/deps.js'
import { createDockerShim } from './support/docker-shim.js'
import { fakeShell } from './support/fake-shell.js'
import { cleanup, cliEnv, INSTANT_TRAINER_CONFIG, makeWorkspace, REPO, runCli } from './support/workspace.js'

const FIXTURES = join(REPO, 'test', 'fixtures', 'doctor')
const CLEAN = join(FIXTURES, 'clean')
const REAL_APP = join(FIXTURES, 'real-app')
const V1 = 'pratikoai/intent-classifier-v1.0'
const WITH_ENV_FILE = { environments: { production: { env_file: ['.env.production'] } } }

const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

// The trainer that trains nothing: doctor's checks and the releases here are about the app's files.
function workspace(app: string, config: Record<string, unknown> = WITH_ENV_FILE): string {
  const ws = makeWorkspace({ app, config: { ...INSTANT_TRAINER_CONFIG, ...config } })
  cleanups.push(() => cleanup(ws))
  return ws
}

function edit(ws: string, file: string, change: (text: string) => string): void {
  const path = join(ws, file)
  const before = readFileSync(path, 'utf8')
  const after = change(before)
  if (after === before) throw new Error(`the test's edit of ${file} changed nothing`)
  writeFileSync(path, after)
}

async function findings(
  ws: string,
  o: { env?: Record<string, string>; table?: Parameters<typeof fakeShell>[0]; deploy?: boolean } = {},
) {
  const config = await loadConfig({ workspace: ws, env: {} })
  const sh = fakeShell(o.table ?? {}).shell
  return checkApp({
    config,
    envName: 'production',
    files: userFiles,
    sh,
    env: o.env ?? {},
    willDeploy: o.deploy ?? false,
  })
}

/** The findings that are not ok, as check/level/file:line. */
const problems = (list: readonly Finding[]) =>
  list
    .filter((f) => f.level !== 'ok')
    .map((f) => ({ check: f.check, level: f.level, at: `${f.file ?? ''}:${f.line ?? ''}` }))

describe('doctor findings on fixture sets', () => {
  it('a clean app tree has no finding other than ok', async () => {
    const list = await findings(workspace(CLEAN))
    expect(problems(list)).toEqual([])
    expect(list.map((f) => f.check)).toEqual(
      expect.arrayContaining([
        'edit.files',
        'compose.variables',
        'dockerfile.secret',
        'dockerfile.swallow',
        'runtime.env',
        'dockerignore',
      ]),
    )
  })

  it(
    'a download step that does not read the hf_token secret: a warning, an error when pushed models are private ' +
      '(hf)',
    async () => {
      const noSecret = (ws: string) =>
        edit(ws, 'Dockerfile', (t) => t.replace('--mount=type=secret,id=hf_token,required=false ', ''))
      const local = workspace(CLEAN)
      noSecret(local)
      const list = await findings(local)
      expect(problems(list)).toEqual([{ check: 'dockerfile.secret', level: 'warn', at: 'Dockerfile:7' }])
      expect(list.find((f) => f.check === 'dockerfile.secret')?.fix).toContain(
        'RUN --mount=type=secret,id=hf_token,required=false',
      )
      const hf = workspace(CLEAN, { ...WITH_ENV_FILE, registry: 'hf' })
      noSecret(hf)
      expect(problems(await findings(hf))).toEqual([{ check: 'dockerfile.secret', level: 'error', at: 'Dockerfile:7' }])
    },
  )

  it('a secret that is mounted but never read is named as such', async () => {
    const ws = workspace(CLEAN)
    edit(ws, 'Dockerfile', (t) => t.replace(/ {4}HF_TOKEN=.*\n/, ''))
    const list = await findings(ws)
    expect(problems(list)).toEqual([{ check: 'dockerfile.secret', level: 'warn', at: 'Dockerfile:7' }])
    expect(list.find((f) => f.check === 'dockerfile.secret')?.message).toContain('mounts but never reads')
  })

  it('a download step that swallows failures (|| true, 2>/dev/null) is named with each construct', async () => {
    const ws = workspace(CLEAN)
    edit(ws, 'Dockerfile', (t) =>
      t.replace(
        `local_dir='/models/intent', token=os.environ.get('HF_TOKEN') or None)"`,
        `local_dir='/models/intent')" 2>/dev/null || true`,
      ),
    )
    const list = await findings(ws)
    expect(problems(list)).toEqual([{ check: 'dockerfile.swallow', level: 'warn', at: 'Dockerfile:7' }])
    expect(list.find((f) => f.check === 'dockerfile.swallow')?.message).toContain('(2>/dev/null, || true)')
  })

  it(
    'reading the optional secret quietly ($(cat /run/secrets/hf_token 2>/dev/null)) is not a swallowed ' + 'failure',
    () => {
      const text = readFileSync(join(CLEAN, 'Dockerfile'), 'utf8')
      expect(text).toContain('cat /run/secrets/hf_token 2>/dev/null')
      const list = checkDockerfile({
        path: 'Dockerfile',
        text,
        buildArg: 'HF_INTENT_MODEL',
        composeSetsRuntimeEnv: false,
        privateModels: true,
      })
      expect(problems(list)).toEqual([])
    },
  )

  it('ARG HF_INTENT_MODEL never exposed to the process (no ENV, no compose environment entry)', async () => {
    const ws = workspace(CLEAN)
    edit(ws, 'Dockerfile', (t) => t.replace('ENV HF_INTENT_MODEL=$HF_INTENT_MODEL\n', ''))
    expect(problems(await findings(ws))).toEqual([]) // the compose environment entry still sets it
    edit(ws, 'docker-compose.production.yml', (t) => t.replace(/ {4}environment:\n.*\n/, ''))
    const list = await findings(ws)
    expect(problems(list)).toEqual([{ check: 'runtime.env', level: 'warn', at: 'Dockerfile:' }])
    expect(list.find((f) => f.check === 'runtime.env')?.fix).toBe(
      'ENV HF_INTENT_MODEL=$HF_INTENT_MODEL after the ARG in the final stage',
    )
  })

  it('an ARG only before FROM never reaches the build: an error', async () => {
    const ws = workspace(CLEAN)
    edit(
      ws,
      'Dockerfile',
      (t) =>
        'ARG HF_INTENT_MODEL=mdeberta\n' +
        t.replace('FROM python:3.11-slim\nARG HF_INTENT_MODEL=mdeberta\n', 'FROM python:3.11-slim\n'),
    )
    const list = await findings(ws)
    expect(problems(list)).toContainEqual({ check: 'dockerfile.arg', level: 'error', at: 'Dockerfile:' })
    expect(list.find((f) => f.check === 'dockerfile.arg')?.message).toContain('visible only to FROM lines')
  })

  it(
    "the Dockerfile is the one the environment's files name (override context + dockerfile, last file " + 'wins)',
    async () => {
      const ws = workspace(CLEAN)
      edit(ws, 'docker-compose.production.yml', (t) =>
        t.replace('    build:\n', '    build:\n      context: ./svc\n      dockerfile: Dockerfile.prod\n'),
      )
      const list = await findings(ws)
      expect(list).toContainEqual(
        expect.objectContaining({ check: 'dockerfile', level: 'error', file: 'docker-compose.production.yml' }),
      )
      expect(list.find((f) => f.check === 'dockerfile')?.message).toContain('svc/Dockerfile.prod, which does not exist')
    },
  )

  it('.dockerignore: missing, not excluding .modelship, or re-including it', async () => {
    const ws = workspace(CLEAN)
    rmSync(join(ws, '.dockerignore'))
    expect(problems(await findings(ws))).toEqual([{ check: 'dockerignore', level: 'warn', at: ':' }])
    writeFileSync(join(ws, '.dockerignore'), 'node_modules\n')
    expect(problems(await findings(ws))).toEqual([{ check: 'dockerignore', level: 'warn', at: '.dockerignore:' }])
    expect(isExcluded('.modelship\n!.modelship\n', '.modelship')).toBe(false)
    for (const line of ['.modelship/', '/.modelship', '.*', '**/.modelship', '*'])
      expect(isExcluded(`${line}\n`, '.modelship')).toBe(true)
    expect(isExcluded('.modelship\n', 'app/.modelship')).toBe(false)
    expect(isExcluded('app\n', 'app/.modelship')).toBe(true)
  })

  it(
    'a required ${VAR:?} unset in the env file and the environment is an error; the environment or env file fixes ' +
      'it',
    async () => {
      const ws = workspace(CLEAN, {})
      const list = await findings(ws)
      expect(problems(list)).toEqual([{ check: 'compose.variables', level: 'error', at: 'docker-compose.yml:9' }])
      expect(list.find((f) => f.level === 'error')?.fix).toBe(
        'put POSTGRES_PASSWORD=… in an env file and list it under environments.production.env_file',
      )
      expect(problems(await findings(ws, { env: { POSTGRES_PASSWORD: 'from-shell' } }))).toEqual([])
      expect(problems(await findings(ws, { env: { POSTGRES_PASSWORD: '' } }))).toHaveLength(1) // `:?` rejects empty too
      writeFileSync(join(ws, '.env'), 'POSTGRES_PASSWORD=x\n') // compose's default .env of the project directory
      expect(problems(await findings(ws))).toEqual([])
    },
  )

  it('an edit file that does not hold the variable: an error before any training', async () => {
    const ws = workspace(CLEAN)
    writeFileSync(join(ws, 'docker-compose.production.yml'), 'services:\n  app:\n    restart: always\n')
    const list = await findings(ws)
    expect(problems(list)).toContainEqual({ check: 'edit.files', level: 'error', at: 'docker-compose.production.yml:' })
    expect(list.find((f) => f.check === 'edit.files')?.message).toContain(
      'the compose step would fail after training and pushing',
    )
  })

  it('a runtime environment entry in effect in a file modelship does not edit: an error', async () => {
    const list = await findings(workspace(REAL_APP, WITH_ENV_FILE))
    expect(problems(list)).toContainEqual({ check: 'edit.in_effect', level: 'error', at: 'docker-compose.yml:4' })
  })

  it('image mode: the service image must use ${IMAGE_TAG}', async () => {
    const ws = workspace(CLEAN, { ...WITH_ENV_FILE, deploy: { mode: 'image' } })
    edit(ws, 'docker-compose.production.yml', (t) =>
      t.replace('    build:\n', '    image: ghcr.io/o/app:latest\n    build:\n'),
    )
    const list = await findings(ws)
    expect(problems(list)).toEqual([{ check: 'image.tag', level: 'error', at: 'docker-compose.production.yml:3' }])
    edit(ws, 'docker-compose.production.yml', (t) => t.replace(':latest', ':${IMAGE_TAG:-latest}'))
    expect(problems(await findings(ws))).toEqual([])
  })

  it('the compose plugin is asked for only when the run deploys; missing it is an error', async () => {
    const ws = workspace(CLEAN)
    const missing = { 'docker compose version --short': new Error("docker: 'compose' is not a docker command.") }
    expect(problems(await findings(ws, { table: missing, deploy: false }))).toEqual([])
    const list = await findings(ws, { table: missing, deploy: true })
    expect(problems(list)).toEqual([{ check: 'compose.plugin', level: 'error', at: ':' }])
    expect(list.find((f) => f.check === 'compose.plugin')?.message).toContain("'compose' is not a docker command")
    const present = await findings(ws, { table: { 'docker compose version --short': '2.29.1' }, deploy: true })
    expect(present.find((f) => f.check === 'compose.plugin')).toMatchObject({
      level: 'ok',
      message: 'docker compose 2.29.1',
    })
  })
})

describe('modelship doctor and release on a real-app-shaped tree', () => {
  it('doctor names every trap with its fix (exit 2); after the fixes it is clean and a release sets build arg and ' +
    'runtime env', async () => {
    const ws = workspace(REAL_APP, { deploy: { mode: 'compose' } })
    const shim = createDockerShim({ noCompose: true, strictVars: true })
    cleanups.push(() => shim.cleanup())
    const env = cliEnv(shim.env)

    const before = await runCli(['doctor', '--workspace', ws], { env })
    process.stdout.write(`--- doctor before the fixes ---\n${before.stdout}`)
    expect(before.code).toBe(2)
    const json = await runCli(['doctor', '--workspace', ws, '--json'], { env })
    const list = JSON.parse(json.stdout) as Finding[]
    expect(problems(list)).toEqual([
      { check: 'edit.in_effect', level: 'error', at: 'docker-compose.yml:4' },
      { check: 'compose.variables', level: 'error', at: 'docker-compose.yml:5' },
      { check: 'dockerfile.secret', level: 'warn', at: 'Dockerfile:6' },
      { check: 'dockerfile.swallow', level: 'warn', at: 'Dockerfile:6' },
      { check: 'dockerfile.model_files', level: 'warn', at: 'Dockerfile:' },
      { check: 'dockerignore', level: 'warn', at: ':' },
      { check: 'compose.plugin', level: 'error', at: ':' },
      // Its CI builds with HF_INTENT_MODEL from vars.: a compose release does not reach that build (issue 26).
      { check: 'workflows', level: 'warn', at: '.github/workflows/build-images.yml:39' },
    ])
    for (const f of list.filter((x) => x.level !== 'ok')) expect(f.fix, f.check).toBeTruthy()

    // The fixes doctor asked for.
    edit(ws, 'Dockerfile', (t) =>
      `ARG MODELSHIP_MODEL_FILES=scratch\nFROM \${MODELSHIP_MODEL_FILES} AS model-files\n${t}`
        .replace(
          'RUN python',
          'RUN --mount=type=secret,id=hf_token,required=false --mount=type=bind,from=model-files,target=/model-files ' +
            'HF_TOKEN="$(cat /run/secrets/hf_token)" python',
        )
        .replace(' 2>/dev/null || true', '')
        .replace('WORKDIR', 'ENV HF_INTENT_MODEL=$HF_INTENT_MODEL\nWORKDIR'),
    )
    edit(
      ws,
      'docker-compose.production.yml',
      (t) => `${t}    environment:\n      - HF_INTENT_MODEL=\${HF_INTENT_MODEL:-mdeberta}\n`,
    )
    writeFileSync(join(ws, '.dockerignore'), '.modelship\n.env*\n')
    edit(ws, 'modelship.yaml', (t) =>
      t.replace(
        '      - docker-compose.production.yml\n',
        '      - docker-compose.production.yml\n    env_file: [.env.production]\n',
      ),
    )
    shim.setCues({ strictVars: true })

    const after = await runCli(['doctor', '--workspace', ws], { env })
    process.stdout.write(`--- doctor after the fixes ---\n${after.stdout}`)
    expect(after.code).toBe(0)
    expect(after.stdout).toMatch(/doctor \(production\): 0 errors, 1 warning\b/)

    // The deploy steps pass env_file as --env-file with the multi-host deploy work (not merged here):
    // until then the release gets the required variable from the environment, as a user could give it.
    const release = await runCli(['release', '--workspace', ws, '--yes'], {
      env: { ...env, POSTGRES_PASSWORD: 'p' },
      timeoutMs: 120_000,
    })
    expect(release.code, release.stderr).toBe(0)
    // A compose release warns once that the app's CI build reads the model from a variable.
    expect(
      (release.stdout + release.stderr).match(
        /build-images\.yml:39: docker\/build-push-action builds app with HF_INTENT_MODEL/g,
      ),
    ).toHaveLength(1)
    const prod = readFileSync(join(ws, 'docker-compose.production.yml'), 'utf8')
    expect(prod).toContain(`HF_INTENT_MODEL: \${HF_INTENT_MODEL:-${V1}}   # promoted model`)
    expect(prod).toContain(`- HF_INTENT_MODEL=\${HF_INTENT_MODEL:-${V1}}`)
    expect(shim.container('app')?.model).toBe(V1)
  }, 180_000)

  it('release without the compose plugin stops in preflight with exit 2, before any training', async () => {
    const ws = workspace(CLEAN)
    const shim = createDockerShim({ noCompose: true })
    cleanups.push(() => shim.cleanup())
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env: cliEnv(shim.env) })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: no docker compose plugin: `docker compose version --short` failed/m)
    expect(shim.calls().map((c) => c.name)).not.toContain('build')
    const runs = join(ws, '.modelship', 'runs')
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([])
  })

  it('release lists every preflight problem at once', async () => {
    const ws = workspace(CLEAN, {})
    rmSync(join(ws, '.dockerignore'))
    const shim = createDockerShim({ noCompose: true })
    cleanups.push(() => shim.cleanup())
    const r = await runCli(['release', '--workspace', ws, '--yes'], { env: cliEnv(shim.env) })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('POSTGRES_PASSWORD:?…} is required but not set')
    expect(r.stderr).toContain('no docker compose plugin')
  })
})

describe('modelship current', () => {
  it('shows every place with its kind and warns when build arg and runtime environment disagree', async () => {
    const ws = workspace(CLEAN)
    edit(ws, 'docker-compose.production.yml', (t) =>
      t.replace(
        'args:\n        HF_INTENT_MODEL: ${HF_INTENT_MODEL:-mdeberta}',
        `args:\n        HF_INTENT_MODEL: ${V1}`,
      ),
    )
    const r = await runCli(['current', '--workspace', ws, '--json'])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as {
      environments: Record<
        string,
        { model: string; files: Array<{ kind: string; file: string; line: number; value: string }>; warning?: string }
      >
    }
    const prod = out.environments.production!
    expect(prod.model).toBe(V1)
    expect(prod.files.map((f) => [f.kind, `${f.file}:${f.line}`, f.value])).toEqual([
      ['build_arg', 'docker-compose.yml:7', 'mdeberta'],
      ['build_arg', 'docker-compose.production.yml:5', V1],
      ['environment', 'docker-compose.production.yml:7', 'mdeberta'],
    ])
    expect(prod.warning).toContain('the model differs between places')
    expect(r.stderr).toContain('warning: production: the model differs between places')
    const human = await runCli(['current', '--workspace', ws])
    expect(human.stdout).toContain(
      `  environment docker-compose.production.yml:7  mdeberta  (default of \${HF_INTENT_MODEL})`,
    )
  })
})
