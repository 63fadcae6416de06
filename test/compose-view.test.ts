import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { Finding } from '../pipeline/doctor/finding.js'
import { detectComposePlugin } from './support/compose-plugin.js'
import { createDockerShim } from './support/docker-shim.js'
import { startScratchDockerd } from './support/scratch-dockerd.js'
import { cleanup, cliEnv, INSTANT_TRAINER, makeWorkspace, REPO, runCli } from './support/workspace.js'

// Compose's own view of the files (issue 25, items 7 and 8), on the real compose plugin: `docker compose
// config` needs no engine. The tree is test/fixtures/doctor/real-app, shaped like the real app.

const REAL_APP = join(REPO, 'test', 'fixtures', 'doctor', 'real-app')
const plugin = detectComposePlugin()
if (!plugin.ok) process.stdout.write(`compose-view: skipping the compose plugin tests: ${plugin.reason}\n`)
// No engine for these tests unless one is started for them: never the machine's default socket.
const NO_ENGINE = { DOCKER_HOST: 'unix:///nonexistent/modelship-test-docker.sock' }

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

/** A copy of the real-app tree with a modelship.yaml for its production environment (files as given). */
function realApp(production: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  const ws = makeWorkspace({ app: REAL_APP })
  cleanups.push(() => cleanup(ws))
  const config = {
    registry: 'local',
    feedback: { source: 'feedback.jsonl' },
    trainer: { command: ['python3', INSTANT_TRAINER] },
    gates: { min_per_label: 20 },
    deploy: { mode: 'auto' },
    environments: {
      production: {
        compose: ['docker-compose.yml', 'docker-compose.production.yml'],
        edit: ['docker-compose.yml', 'docker-compose.production.yml'],
        env_file: ['.env.production'],
        ...production,
      },
    },
    ...extra,
  }
  writeFileSync(join(ws, 'modelship.yaml'), stringify(config))
  return ws
}

const composeConfigOf = (list: readonly Finding[]) => list.filter((f) => f.check === 'compose.config')

describe('the compose plugin', () => {
  it.runIf(process.env.CI)('is installed where CI runs the tests', () => {
    expect(plugin, plugin.ok ? '' : plugin.reason).toMatchObject({ ok: true })
  })
})

describe.skipIf(!plugin.ok)("compose's own view in doctor and preflight (item 7)", () => {
  it(
    'doctor: the env_file entry picked by an unset APP_ENV is an error with its fix; the fix makes it ' + 'pass',
    async () => {
      const ws = realApp()
      const env = cliEnv(NO_ENGINE)
      const r = await runCli(['doctor', '--workspace', ws, '--json'], { env })
      expect(r.code, r.stderr).toBe(2)
      const [finding, ...more] = composeConfigOf(JSON.parse(r.stdout) as Finding[])
      expect(more).toEqual([])
      expect(finding).toMatchObject({ level: 'error', file: 'docker-compose.yml', line: 16 })
      expect(finding!.message).toBe(
        'production: docker compose config fails: env file .env.development not found ' +
          '(the env_file entry .env.${APP_ENV:-development} names it while APP_ENV is unset)',
      )
      expect(finding!.fix).toContain('add APP_ENV=production to .env.production')
      expect(finding!.fix).toContain('so the entry names .env.production (which exists)')
      const human = await runCli(['doctor', '--workspace', ws], { env })
      process.stdout.write(`--- doctor, real-app ---\n${human.stdout}`)
      expect(human.stdout).toContain('error docker-compose.yml:16: production: docker compose config fails')

      appendFileSync(join(ws, '.env.production'), 'APP_ENV=production\n')
      const fixed = await runCli(['doctor', '--workspace', ws, '--json'], { env })
      expect(fixed.code, fixed.stdout).toBe(0)
      expect(composeConfigOf(JSON.parse(fixed.stdout) as Finding[])).toEqual([
        {
          check: 'compose.config',
          level: 'ok',
          message:
            'production: `docker compose --env-file .env.production -f docker-compose.yml -f ' +
            'docker-compose.production.yml config --quiet` passes',
        },
      ])
    },
  )

  it('doctor: a required variable compose cannot set names the env file to put it in', async () => {
    const ws = realApp({ env_file: [] })
    const r = await runCli(['doctor', '--workspace', ws, '--json'], { env: cliEnv(NO_ENGINE) })
    const [finding] = composeConfigOf(JSON.parse(r.stdout) as Finding[])
    expect(finding?.level).toBe('error')
    expect(finding?.message).toContain('required variable POSTGRES_PASSWORD is missing a value')
    expect(finding?.fix).toContain(
      'put POSTGRES_PASSWORD=… in an env file listed under environments.production.env_file',
    )
  })

  it('release: with an engine answering, preflight refuses (exit 2, no run left); without one it warns', async () => {
    const ws = realApp()
    const warned = await runCli(['release', '--workspace', ws, '--dry-run'], { env: cliEnv(NO_ENGINE) })
    expect(warned.code, warned.stderr).toBe(0)
    expect(warned.stdout).toMatch(
      /warning: docker-compose\.yml:16: production: docker compose config fails: env file \.env\.development not found/,
    )

    const engine = await startScratchDockerd()
    cleanups.push(() => engine.stop())
    const refused = await runCli(['release', '--workspace', ws, '--yes'], { env: cliEnv({ DOCKER_HOST: engine.host }) })
    expect(refused.code, refused.stderr).toBe(2)
    expect(refused.stderr).toMatch(
      new RegExp(
        /^error: docker-compose\.yml:16: production: docker compose config fails: /.source +
          /env file \.env\.development not found /.source +
          /.* fix: add APP_ENV=production to \.env\.production/.source,
        'm',
      ),
    )
    const runs = join(ws, '.modelship', 'runs')
    expect(existsSync(runs) ? readdirSync(runs) : []).toEqual([])
  }, 120_000)
})

describe("compose's own view without the plugin", () => {
  it('doctor says the check was skipped', async () => {
    const ws = realApp()
    const shim = createDockerShim({ noCompose: true })
    cleanups.push(() => shim.cleanup())
    const r = await runCli(['doctor', '--workspace', ws, '--json'], { env: cliEnv(shim.env) })
    const findings = composeConfigOf(JSON.parse(r.stdout) as Finding[])
    expect(findings).toHaveLength(1)
    expect(findings[0]).toMatchObject({ level: 'ok' })
    expect(findings[0]!.message).toMatch(/^skipped: no docker compose plugin here \(docker: unknown flag: --env-file\)/)
  })
})

interface CurrentJson {
  environments: Record<
    string,
    {
      model: string | null
      files: Array<{ kind: string; file: string; line: number; value: string; overriddenBy?: string }>
      effective: {
        source: string
        build_arg: { value: string; file?: string; line?: number; from: string } | null
        environment: { value: string; file?: string; line?: number; from: string } | null
        note?: string
      }
    }
  >
}

/** A tree where a later file resets the runtime entry: the base's line no longer reaches the process. */
function resetTree(): string {
  const ws = realApp({}, {})
  writeFileSync(
    join(ws, 'docker-compose.qa.yml'),
    ['services:', '  app:', '    environment: !reset {}', '    restart: "no"', ''].join('\n'),
  )
  writeFileSync(join(ws, '.env.qa'), 'POSTGRES_PASSWORD=qa-only\nAPP_ENV=production\n')
  const text = stringify({
    registry: 'local',
    feedback: { source: 'feedback.jsonl' },
    trainer: { command: ['python3', INSTANT_TRAINER] },
    deploy: { mode: 'auto' },
    environments: {
      production: {
        compose: ['docker-compose.yml', 'docker-compose.production.yml'],
        edit: ['docker-compose.yml', 'docker-compose.production.yml'],
        env_file: ['.env.production'],
      },
      qa: {
        compose: ['docker-compose.yml', 'docker-compose.qa.yml'],
        edit: ['docker-compose.yml'],
        env_file: ['.env.qa'],
      },
    },
  })
  writeFileSync(join(ws, 'modelship.yaml'), text)
  appendFileSync(join(ws, '.env.production'), 'APP_ENV=production\n')
  return ws
}

describe.skipIf(!plugin.ok)('current: --env NAME and the value that wins, from docker compose config (item 8)', () => {
  it('build: !override in the production file: the winner is its line, the base line is shown overridden', async () => {
    const ws = resetTree()
    const r = await runCli(['current', '--env', 'production', '--workspace', ws, '--json'], {
      env: cliEnv(NO_ENGINE),
    })
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as CurrentJson
    expect(Object.keys(out.environments)).toEqual(['production'])
    const prod = out.environments.production!
    expect(prod.effective).toEqual({
      source: 'docker compose config',
      build_arg: {
        value: 'mdeberta',
        file: 'docker-compose.production.yml',
        line: 8,
        from: 'docker-compose.production.yml:8',
      },
      environment: { value: 'mdeberta', file: 'docker-compose.yml', line: 4, from: 'docker-compose.yml:4' },
    })
    expect(prod.files.map((f) => [f.kind, `${f.file}:${f.line}`, f.overriddenBy ?? null])).toEqual([
      ['environment', 'docker-compose.yml:4', null],
      ['build_arg', 'docker-compose.yml:15', 'docker-compose.production.yml:4 (build: !override)'],
      ['build_arg', 'docker-compose.production.yml:8', null],
    ])
    const human = await runCli(['current', '--env', 'production', '--workspace', ws], { env: cliEnv(NO_ENGINE) })
    process.stdout.write(`--- current --env production ---\n${human.stdout}`)
    expect(human.stdout).toContain(
      '  build_arg   docker-compose.yml:15  mdeberta  (default of ${HF_INTENT_MODEL})  [overridden by ' +
        'docker-compose.production.yml:4 (build: !override)]',
    )
    expect(human.stdout).toContain(
      '  wins (docker compose config): build arg mdeberta (docker-compose.production.yml:8); environment mdeberta ' +
        '(docker-compose.yml:4)',
    )
    expect(human.stdout).not.toContain('qa:')
  })

  it(
    '!reset in a later file takes the runtime entry away; a variable set in the environment wins over ' + 'defaults',
    async () => {
      const ws = resetTree()
      const model = 'pratikoai/intent-classifier-v2.0'
      const r = await runCli(['current', '--env', 'qa', '--workspace', ws, '--json'], {
        env: cliEnv({ ...NO_ENGINE, HF_INTENT_MODEL: model }),
      })
      expect(r.code, r.stderr).toBe(0)
      const qa = (JSON.parse(r.stdout) as CurrentJson).environments.qa!
      expect(qa.effective).toEqual({
        source: 'docker compose config',
        build_arg: {
          value: model,
          file: 'docker-compose.yml',
          line: 15,
          from: 'HF_INTENT_MODEL from the environment (through docker-compose.yml:15)',
        },
        environment: null,
      })
      expect(qa.files.find((f) => f.kind === 'environment')?.overriddenBy).toBe(
        'docker-compose.qa.yml:3 (environment: !reset)',
      )
    },
  )

  it('an unknown --env is refused (exit 2) naming the known ones', async () => {
    const ws = resetTree()
    const r = await runCli(['current', '--env', 'staging', '--workspace', ws], { env: cliEnv(NO_ENGINE) })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--env staging: no such environment in modelship.yaml (known: production, qa)')
  })
})

describe('current without the compose plugin', () => {
  it('reads the winner from the files, tags included, and says compose was not asked', async () => {
    const ws = resetTree()
    const shim = createDockerShim({ noCompose: true })
    cleanups.push(() => shim.cleanup())
    const r = await runCli(['current', '--workspace', ws, '--json'], { env: cliEnv(shim.env) })
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as CurrentJson
    expect(out.environments.production!.effective).toMatchObject({
      source: 'the files',
      build_arg: { value: 'mdeberta', from: 'docker-compose.production.yml:8' },
      note: 'no docker compose plugin here: read from the files',
    })
    expect(out.environments.qa!.effective).toMatchObject({ source: 'the files', environment: null })
  })
})
