import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { copyInitApp } from './support/init-app.js'
import { cleanup, cliEnv, FIXTURES, runCli, snapshotTree } from './support/workspace.js'

const dirs: string[] = []
afterEach(() => {
  while (dirs.length) cleanup(dirs.pop()!)
})
function app(): string {
  const ws = copyInitApp()
  dirs.push(ws)
  return ws
}

describe('modelship init', () => {
  it(
    'writes a working config for an app with map and list build args, runtime env, two overrides and an env ' + 'file',
    async () => {
      const ws = app()
      const gitignoreBefore = readFileSync(join(ws, '.gitignore'), 'utf8')
      const r = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const text = readFileSync(join(ws, 'modelship.yaml'), 'utf8')
      // Shown before it is written, with its comments.
      expect(r.stdout).toContain('  deploy:\n    mode: auto')
      expect(r.stdout).toMatch(/next: npx modelship release --dry-run\n$/)
      expect(text).toMatch(/^# modelship configuration, written by `modelship init`/)
      const config = parse(text) as Record<string, any>
      expect(config.model).toMatchObject({ org: 'acme', prefix: 'intent-classifier' })
      expect(config.deploy).toMatchObject({ service: 'api', build_arg: 'HF_INTENT_MODEL', mode: 'auto' })
      expect(config.environments).toEqual({
        production: {
          compose: ['docker-compose.yml', 'docker-compose.production.yml'],
          edit: ['docker-compose.production.yml'],
          env_file: '.env.production',
          env_files: ['.env.production'],
        },
        // staging's override sets only the build arg: the runtime entry in effect is the base file's, edited too
        staging: {
          compose: ['docker-compose.yml', 'docker-compose.staging.yml'],
          edit: ['docker-compose.yml', 'docker-compose.staging.yml'],
        },
      })
      expect(config.feedback.source).toBe('./data/feedback.jsonl')
      // The app has no trainer of its own: the bundled one, which exists.
      expect(
        existsSync(
          config.trainer.command[1].startsWith('/') ? config.trainer.command[1] : join(ws, config.trainer.command[1]),
        ),
      ).toBe(true)
      // The other service's model variable is noted, not taken.
      expect(text).toContain('also found EMBEDDING_MODEL in service worker')
      // .gitignore keeps its bytes (it had no final newline) and gains one line; .dockerignore is created.
      expect(readFileSync(join(ws, '.gitignore'), 'utf8')).toBe(`${gitignoreBefore}\n.modelship/\n`)
      expect(readFileSync(join(ws, '.dockerignore'), 'utf8')).toBe('.modelship/\n')

      const dry = await runCli(['release', '--dry-run', '--workspace', ws], {
        env: cliEnv({ MODELSHIP_REGISTRY: 'local' }),
      })
      expect(dry.stderr).not.toContain('error:')
      expect(dry.code).toBe(0)
      expect(dry.stdout).toContain('next model: acme/intent-classifier-v1.0 (now: acme/intent-classifier-v1.2)')
      expect(dry.stdout).toContain('+        - HF_INTENT_MODEL=acme/intent-classifier-v1.0   # list form')
      expect(dry.stdout).toContain('+HF_INTENT_MODEL=acme/intent-classifier-v1.0')
      const staging = await runCli(['release', '--dry-run', '--env', 'staging', '--workspace', ws], {
        env: cliEnv({ MODELSHIP_REGISTRY: 'local' }),
      })
      expect(staging.code).toBe(0)
      expect(staging.stdout).toContain('+        HF_INTENT_MODEL: acme/intent-classifier-v1.0')
    },
  )

  it('refuses to overwrite an existing modelship.yaml (exit 2, nothing changed)', async () => {
    const ws = app()
    writeFileSync(join(ws, 'modelship.yaml'), '# mine\nregistry: local\n')
    const before = snapshotTree(ws)
    const r = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: .*modelship\.yaml already exists: init never overwrites it\n/)
    expect(snapshotTree(ws)).toEqual(before)
  })

  it('leaves an ignore file that already ignores .modelship/ byte for byte, and keeps CRLF line ends', async () => {
    const ws = app()
    writeFileSync(join(ws, '.gitignore'), 'dist/\r\n/.modelship\r\n')
    writeFileSync(join(ws, '.dockerignore'), 'node_modules\r\n')
    const r = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
    expect(r.code).toBe(0)
    expect(readFileSync(join(ws, '.gitignore'), 'utf8')).toBe('dist/\r\n/.modelship\r\n')
    expect(readFileSync(join(ws, '.dockerignore'), 'utf8')).toBe('node_modules\r\n.modelship/\r\n')
  })

  it('refuses an app where no service sets the model variable, naming what to add', async () => {
    const ws = app()
    writeFileSync(join(ws, 'docker-compose.yml'), 'services:\n  api:\n    build: .\n')
    rmSync(join(ws, 'docker-compose.production.yml'))
    rmSync(join(ws, 'docker-compose.staging.yml'))
    const r = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('no compose service sets HF_INTENT_MODEL')
    expect(existsSync(join(ws, 'modelship.yaml'))).toBe(false)
  })
})

describe('modelship init on an app whose CI builds the image', () => {
  it(
    'prints the doctor finding for workflows building with the build arg from vars., and the setting that ' + 'follows',
    async () => {
      const ws = app()
      cpSync(join(FIXTURES, 'doctor', 'real-app', '.github'), join(ws, '.github'), { recursive: true })
      const r = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(
        'note: .github/workflows/build-images.yml:39: docker/build-push-action builds api with HF_INTENT_MODEL from ' +
          'vars.HF_INTENT_MODEL (job build-and-push, run by deploy-production.yml)',
      )
      expect(r.stdout).toContain(
        [
          'note: to release through the CI workflows (the app builds its images there), set in modelship.yaml:',
          '  deploy:',
          '    mode: github',
          '  environments:',
          '    production:',
          '      github:',
          '        workflow: deploy-production.yml',
          '        trigger: push',
          '        ref: master',
        ].join('\n'),
      )
    },
  )
})
