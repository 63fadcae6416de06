import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { loadConfig } from '../pipeline/config/load.js'
import { userFiles } from '../pipeline/ports/deps.js'
import {
  applyModelToEnvironment,
  currentModelOf,
  readEnvironmentModels,
  restoreEditedFiles,
} from '../pipeline/environment.js'
import { ModelshipError } from '../pipeline/engine/errors.js'

// The environment-level edit on a real workspace: every place that names the model (build args,
// the runtime environment, env files) changes together, restore returns every byte, and symlinked
// files stay links.

const MODEL = 'pratikoai/intent-classifier-v1.1'
const BASE = [
  'services:',
  '  app:',
  '    build:',
  '      context: .',
  '      args:',
  '        HF_INTENT_MODEL: ${HF_INTENT_MODEL:-mdeberta}',
  '    environment:',
  '      - "HF_INTENT_MODEL=${HF_INTENT_MODEL:-mdeberta}"',
  '',
].join('\n')
// CRLF, comments, map-form runtime env: the production override.
const PRODUCTION = [
  '# production override',
  'services:',
  '  app:',
  '    build:',
  '      args:',
  '        - HF_INTENT_MODEL=pratikoai/intent-classifier-v1.0   # set by modelship',
  '    environment:',
  '      APP_ENV: production',
  '      HF_INTENT_MODEL: pratikoai/intent-classifier-v1.0',
  '',
].join('\r\n')
const ENV_FILE = '# runtime settings\nHF_INTENT_MODEL=pratikoai/intent-classifier-v1.0\nLOG_LEVEL=info\n'

const dirs: string[] = []
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'modelship-compose-env-'))
  dirs.push(dir)
  return dir
}

async function workspace(texts: Record<string, string> = {}, ws = tempDir()) {
  const all: Record<string, string> = {
    'docker-compose.yml': BASE,
    'docker-compose.production.yml': PRODUCTION,
    '.env.production': ENV_FILE,
    ...texts,
  }
  for (const [name, text] of Object.entries(all)) writeFileSync(join(ws, name), text)
  const environments = {
    production: {
      compose: ['docker-compose.yml', 'docker-compose.production.yml'],
      edit: ['docker-compose.production.yml'],
      env_files: ['.env.production'],
    },
  }
  writeFileSync(join(ws, 'modelship.yaml'), stringify({ registry: 'local', environments }))
  const config = await loadConfig({ workspace: ws, env: {} })
  const files = userFiles
  return { ws, config, files }
}

const read = (ws: string, name: string) => readFileSync(join(ws, name), 'utf8')

describe('applyModelToEnvironment', () => {
  it('sets the build arg, the runtime environment and the env file; restore returns every byte', async () => {
    const { ws, config, files } = await workspace()
    const edit = await applyModelToEnvironment({
      config,
      envName: 'production',
      modelId: MODEL,
      files,
      backupDir: join(ws, 'backup'),
    })

    expect(read(ws, 'docker-compose.production.yml')).toBe(
      PRODUCTION.replaceAll('pratikoai/intent-classifier-v1.0', MODEL),
    )
    expect(read(ws, '.env.production')).toBe(ENV_FILE.replace('pratikoai/intent-classifier-v1.0', MODEL))
    expect(read(ws, 'docker-compose.yml')).toBe(BASE) // not an edit file
    expect(edit.files.map((f) => [f.path, f.changed])).toEqual([
      ['docker-compose.production.yml', true],
      ['.env.production', true],
    ])
    expect(edit.diff).toContain(`-        - HF_INTENT_MODEL=pratikoai/intent-classifier-v1.0   # set by modelship\n`)
    expect(edit.diff).toContain(`+      HF_INTENT_MODEL: ${MODEL}\n`)
    expect(edit.diff).toContain(`+HF_INTENT_MODEL=${MODEL}\n`)
    expect(edit.diff).not.toContain('\r')

    const restored = await restoreEditedFiles({ workspace: ws, edited: edit.files, files })
    expect(restored).toEqual(['docker-compose.production.yml', '.env.production'])
    expect(read(ws, 'docker-compose.production.yml')).toBe(PRODUCTION)
    expect(read(ws, '.env.production')).toBe(ENV_FILE)
  })

  it('an edit file that sets the variable only in the runtime environment is enough', async () => {
    const runtimeOnly = 'services:\n  app:\n    image: app\n    environment:\n      - HF_INTENT_MODEL=mdeberta\n'
    const { ws, config, files } = await workspace({ 'docker-compose.production.yml': runtimeOnly })
    await applyModelToEnvironment({
      config,
      envName: 'production',
      modelId: MODEL,
      files,
      backupDir: join(ws, 'backup'),
    })
    expect(read(ws, 'docker-compose.production.yml')).toBe(runtimeOnly.replace('mdeberta', MODEL))
  })

  it('refuses an edit file that sets the variable nowhere, naming both places, and writes nothing', async () => {
    const { ws, config, files } = await workspace({
      'docker-compose.production.yml': 'services:\n  app:\n    image: x\n',
    })
    const error = await applyModelToEnvironment({
      config,
      envName: 'production',
      modelId: MODEL,
      files,
      backupDir: join(ws, 'b'),
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ModelshipError)
    expect((error as ModelshipError).exitCode).toBe(2)
    expect((error as ModelshipError).message).toBe(
      'docker-compose.production.yml: no HF_INTENT_MODEL under services.app.build.args or services.app.environment',
    )
    expect(read(ws, '.env.production')).toBe(ENV_FILE)
  })
})

describe('reading what an environment runs', () => {
  it('lists every place with its kind, file, line and value', async () => {
    const { ws, config, files } = await workspace()
    const r = await readEnvironmentModels(config, 'production', files)
    expect(r.places).toEqual([
      {
        kind: 'build_arg',
        file: 'docker-compose.yml',
        line: 6,
        value: 'mdeberta',
        form: 'default',
        variable: 'HF_INTENT_MODEL',
      },
      {
        kind: 'environment',
        file: 'docker-compose.yml',
        line: 8,
        value: 'mdeberta',
        form: 'default',
        variable: 'HF_INTENT_MODEL',
      },
      {
        kind: 'build_arg',
        file: 'docker-compose.production.yml',
        line: 6,
        value: 'pratikoai/intent-classifier-v1.0',
        form: 'list',
      },
      {
        kind: 'environment',
        file: 'docker-compose.production.yml',
        line: 9,
        value: 'pratikoai/intent-classifier-v1.0',
        form: 'map',
      },
      { kind: 'env_file', file: '.env.production', line: 2, value: 'pratikoai/intent-classifier-v1.0', form: 'env' },
    ])
    // The base file's defaults are overridden by the production file: no disagreement.
    expect(r.model).toBe('pratikoai/intent-classifier-v1.0')
    expect(r).not.toHaveProperty('disagreement')
    expect(await currentModelOf(config, 'production', files)).toBe('pratikoai/intent-classifier-v1.0')
    void ws
  })

  it('says where the places in effect disagree', async () => {
    const stale = PRODUCTION.replace('HF_INTENT_MODEL: pratikoai/intent-classifier-v1.0', 'HF_INTENT_MODEL: mdeberta')
    const { config, files } = await workspace({ 'docker-compose.production.yml': stale })
    const r = await readEnvironmentModels(config, 'production', files)
    expect(r.model).toBe('pratikoai/intent-classifier-v1.0') // the build arg wins, as before
    expect(r.disagreement).toBe(
      'production: the model differs between places: ' +
        'the build arg docker-compose.production.yml:6 says pratikoai/intent-classifier-v1.0, ' +
        'the runtime environment docker-compose.production.yml:9 says mdeberta, ' +
        'the env file .env.production:2 says pratikoai/intent-classifier-v1.0; ' +
        '`modelship promote <model-id> --env production` sets them all',
    )
  })

  it('falls back to the runtime environment, then the env file, when no build arg is set', async () => {
    const { config, files } = await workspace({
      'docker-compose.yml': 'services:\n  app:\n    image: app\n',
      'docker-compose.production.yml': 'services:\n  app:\n    environment:\n      HF_INTENT_MODEL: a/runtime\n',
    })
    expect(await currentModelOf(config, 'production', files)).toBe('a/runtime')
    writeFileSync(join(config.workspace, 'docker-compose.production.yml'), 'services:\n  app:\n    image: app\n')
    expect(await currentModelOf(config, 'production', files)).toBe('pratikoai/intent-classifier-v1.0')
  })
})

describe('symlinked compose and env files', () => {
  function linkInto(ws: string, name: string, target: string): void {
    rmSync(join(ws, name))
    symlinkSync(target, join(ws, name))
  }

  it('writes through a link inside the workspace, keeps the link, and restore keeps it too', async () => {
    const { ws, config, files } = await workspace()
    mkdirSync(join(ws, 'deploy'))
    writeFileSync(join(ws, 'deploy', 'production.yml'), PRODUCTION)
    linkInto(ws, 'docker-compose.production.yml', 'deploy/production.yml')

    const edit = await applyModelToEnvironment({
      config,
      envName: 'production',
      modelId: MODEL,
      files,
      backupDir: join(ws, 'b'),
    })
    const link = join(ws, 'docker-compose.production.yml')
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readlinkSync(link)).toBe('deploy/production.yml')
    expect(read(ws, 'deploy/production.yml')).toBe(PRODUCTION.replaceAll('pratikoai/intent-classifier-v1.0', MODEL))
    // The temp file went beside the target and is gone.
    expect(readdirSync(join(ws, 'deploy'))).toEqual(['production.yml'])

    await restoreEditedFiles({ workspace: ws, edited: edit.files, files })
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(read(ws, 'deploy/production.yml')).toBe(PRODUCTION)
  })

  it(
    'refuses a link to a file outside the workspace (exit 2, naming link and target) and changes ' + 'nothing',
    async () => {
      const outside = tempDir()
      writeFileSync(join(outside, 'shared.env'), ENV_FILE)
      const { ws, config, files } = await workspace()
      linkInto(ws, '.env.production', join(outside, 'shared.env'))

      const error = await applyModelToEnvironment({
        config,
        envName: 'production',
        modelId: MODEL,
        files,
        backupDir: join(ws, 'b'),
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ModelshipError)
      const e = error as ModelshipError
      expect(e.exitCode).toBe(2)
      expect(e.message).toBe(
        `${join(ws, '.env.production')} is a symlink to ${join(outside, 'shared.env')}, which is outside the ` +
          `workspace ${ws}; ` +
          'modelship does not write there',
      )
      expect(e.hint).toMatch(/allow_outside_workspace: true/)
      // Nothing was written: not the compose file checked before it, not the target.
      expect(read(ws, 'docker-compose.production.yml')).toBe(PRODUCTION)
      expect(read(outside, 'shared.env')).toBe(ENV_FILE)
    },
  )

  it('writes through a link outside the workspace when allowOutsideWorkspace is set', async () => {
    const outside = tempDir()
    writeFileSync(join(outside, 'shared.env'), ENV_FILE)
    const { ws, config, files } = await workspace()
    linkInto(ws, '.env.production', join(outside, 'shared.env'))

    const edit = await applyModelToEnvironment({
      config,
      envName: 'production',
      modelId: MODEL,
      files,
      backupDir: join(ws, 'b'),
      allowOutsideWorkspace: true,
    })
    expect(lstatSync(join(ws, '.env.production')).isSymbolicLink()).toBe(true)
    expect(read(outside, 'shared.env')).toBe(ENV_FILE.replace('pratikoai/intent-classifier-v1.0', MODEL))
    await expect(restoreEditedFiles({ workspace: ws, edited: edit.files, files })).rejects.toThrow(
      /outside the workspace/,
    )
    await restoreEditedFiles({ workspace: ws, edited: edit.files, files, allowOutsideWorkspace: true })
    expect(read(outside, 'shared.env')).toBe(ENV_FILE)
    expect(realpathSync(join(ws, '.env.production'))).toBe(realpathSync(join(outside, 'shared.env')))
  })
})
