// doctor's workflow check: builds in .github/workflows/ that take the build arg from vars., secrets., env. or an
// input, on the real-app-shaped fixture (test/fixtures/doctor/real-app/.github/workflows) and on small trees.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { defaultConfig } from '../pipeline/config/config.js'
import { validateConfig } from '../pipeline/config/validate.js'
import { checkWorkflows, settingYaml } from '../pipeline/doctor/workflows.js'
import { cleanup, cliEnv, FIXTURES, runCli } from './support/workspace.js'

const REAL_APP = join(FIXTURES, 'doctor', 'real-app')
const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) cleanup(d)
})

const configFor = (workspace: string, file: Record<string, unknown> = {}) => {
  const { config, errors } = validateConfig(
    [
      { origin: 'defaults', values: defaultConfig() },
      { origin: 'modelship.yaml', values: file },
    ],
    workspace,
  )
  expect(errors).toEqual([])
  return config
}

function tree(workflows: Record<string, string>): string {
  const ws = mkdtempSync(join(tmpdir(), 'modelship-workflows-'))
  dirs.push(ws)
  mkdirSync(join(ws, '.github', 'workflows'), { recursive: true })
  for (const [name, text] of Object.entries(workflows)) writeFileSync(join(ws, '.github', 'workflows', name), text)
  return ws
}

describe('doctor: workflows that build with the build arg from CI', () => {
  it('names the real app build, its line, the workflow that runs it per environment, and the setting', () => {
    const config = configFor(REAL_APP, { deploy: { mode: 'compose' } })
    const [prod] = checkWorkflows(config, 'production')
    expect(prod).toMatchObject({
      check: 'workflows',
      level: 'warn',
      file: '.github/workflows/build-images.yml',
      line: 39,
    })
    expect(prod!.message).toBe(
      'docker/build-push-action builds app with HF_INTENT_MODEL from vars.HF_INTENT_MODEL (job build-and-push, run ' +
        'by deploy-production.yml): ' +
        'a release that edits the compose files and builds here does not reach this build, and the next CI run ships ' +
        'whatever vars.HF_INTENT_MODEL says',
    )
    expect(prod!.fix).toBe(
      'set deploy.mode: github, environments.production.github.workflow: deploy-production.yml, ' +
        'environments.production.github.trigger: push, ' +
        'environments.production.github.ref: master (or add `workflow_dispatch:` under `on:` in ' +
        'deploy-production.yml and keep trigger: dispatch)',
    )
    const [qa] = checkWorkflows(config, 'qa')
    expect(qa!.message).toContain('run by deploy-qa.yml')
    expect(qa!.fix).toContain('environments.qa.github.ref: develop')
  })

  it('in deploy.mode github with the variable the build reads, the finding is ok', () => {
    const config = configFor(REAL_APP, {
      deploy: { mode: 'github', github: { workflow: 'deploy-production.yml', trigger: 'push', ref: 'master' } },
    })
    expect(checkWorkflows(config, 'production').map((f) => f.level)).toEqual(['ok'])
    const other = configFor(REAL_APP, { deploy: { mode: 'github', github: { variable: 'MODEL', workflow: 'x.yml' } } })
    expect(checkWorkflows(other, 'production')[0]!.message).toMatch(/but deploy\.github\.variable is MODEL/)
  })

  it(
    'finds docker build and docker compose build --build-arg in run: steps, from env: set from vars, and ' + 'secrets',
    () => {
      const ws = tree({
        'ci.yml': [
          'on: [push, workflow_dispatch]',
          'env:',
          '  MODEL: ${{ vars.INTENT_MODEL }}',
          'jobs:',
          '  image:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - run: |',
          '          docker build \\',
          '            --build-arg HF_INTENT_MODEL="$MODEL" -t app .',
          '      - run: docker compose build --build-arg HF_INTENT_MODEL=${{ secrets.MODEL }} app',
          '      - run: docker compose build --build-arg HF_INTENT_MODEL=${{ vars.X }} worker',
          '      - run: echo --build-arg HF_INTENT_MODEL=${{ vars.Y }}',
          '',
        ].join('\n'),
      })
      const findings = checkWorkflows(configFor(ws), 'production')
      expect(findings.map((f) => [f.line, f.level, f.message.split(':')[0]])).toEqual([
        [
          10,
          'warn',
          'docker build builds app with HF_INTENT_MODEL from env.MODEL (set from vars.INTENT_MODEL) (job image)',
        ],
        [11, 'warn', 'docker compose build builds app with HF_INTENT_MODEL from secrets.MODEL (job image)'],
      ])
      // A variable under another name; the workflow has workflow_dispatch, so no trigger: push.
      expect(findings[0]!.fix).toBe(
        'set deploy.mode: github, deploy.github.variable: INTENT_MODEL, ' +
          'environments.production.github.workflow: ci.yml',
      )
      expect(findings[1]!.message).toMatch(/not a secret, so releases never reach this build/)
    },
  )

  it('a workflow that is not YAML, or an alias bomb, is skipped or walked without expanding aliases', () => {
    const bomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefghij'.split('').map((c, i) => {
        const prev = 'abcdefghij'[i]!
        return `${c}: &${c} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`
      }),
      'jobs: *j',
      '',
    ].join('\n')
    const ws = tree({ 'bomb.yml': bomb, 'broken.yml': 'jobs: [unclosed\n' })
    const findings = checkWorkflows(configFor(ws), 'production')
    expect(findings).toEqual([
      expect.objectContaining({
        level: 'warn',
        file: '.github/workflows/broken.yml',
        message: expect.stringMatching(/^skipped: not valid YAML/),
      }),
    ])
  })

  it('settingYaml nests the keys as modelship.yaml spells them', () => {
    expect(
      settingYaml([
        ['deploy.mode', 'github'],
        ['environments.production.github.workflow', 'deploy-production.yml'],
        ['environments.production.github.trigger', 'push'],
      ]),
    ).toEqual([
      'deploy:',
      '  mode: github',
      'environments:',
      '  production:',
      '    github:',
      '      workflow: deploy-production.yml',
      '      trigger: push',
    ])
  })

  it('`modelship doctor --json` on the real-app tree reports the build with file and line', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'modelship-real-app-'))
    dirs.push(ws)
    cpSync(REAL_APP, ws, { recursive: true })
    writeFileSync(join(ws, 'modelship.yaml'), 'registry: local\ndeploy:\n  mode: compose\n')
    const r = await runCli(['doctor', '--workspace', ws, '--json'], { env: cliEnv({ PATH: '/nonexistent' }) })
    const findings = JSON.parse(r.stdout) as Array<{ check: string; file?: string; line?: number; level: string }>
    expect(findings.filter((f) => f.check === 'workflows')).toEqual([
      expect.objectContaining({ level: 'warn', file: '.github/workflows/build-images.yml', line: 39 }),
    ])
  })
})
