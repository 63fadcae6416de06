import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { initCommand } from '../scripts/init.js'
import type { Prompter } from '../scripts/prompt.js'
import { copyInitApp } from './support/init-app.js'
import { cleanup, cliEnv, REPO, runCli, snapshotTree } from './support/workspace.js'

// `modelship init` on a tree shaped like the real app (issue 25 item 9; issue 23 item 3): env files that
// exist only as `.env.<env>.example`, the service image on a registry with a tag variable, no HF token.

const REAL_APP = join(REPO, 'test', 'fixtures', 'doctor', 'real-app')
const dirs: string[] = []
afterEach(() => {
  while (dirs.length) cleanup(dirs.pop()!)
})

/** The real-app tree as the repo ships it: the env files only as examples (the real ones hold secrets). */
function shippedRealApp(): string {
  const ws = mkdtempSync(join(tmpdir(), 'modelship-init-real-'))
  dirs.push(ws)
  cpSync(REAL_APP, ws, { recursive: true })
  rmSync(join(ws, '.env.production'))
  return ws
}

const IMAGE_LINE =
  'deploy.mode: image: services.app.image ghcr.io/pratikoai/pratikoai-backend:${IMAGE_TAG:-latest} ' +
  '(docker-compose.yml:10) ' +
  'is on the registry ghcr.io with its tag from ${IMAGE_TAG}: a release builds once, pushes the image tagged ' +
  'model-<version> and the hosts pull it'

/** A person at a terminal who says yes to everything. */
const sayYes: Prompter = { interactive: true, confirm: async () => true, text: async (_q, fallback) => fallback }

describe('init on the real app tree (item 9)', () => {
  it(
    'names the env file only its example exists for, prints the copy command, and picks image mode saying ' + 'why',
    async () => {
      const ws = shippedRealApp()
      const r = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
      expect(r.code, r.stderr).toBe(0)
      process.stdout.write(`--- init, real-app ---\n${r.stdout}`)
      const config = parse(readFileSync(join(ws, 'modelship.yaml'), 'utf8')) as Record<string, any>
      expect(config.deploy).toMatchObject({ mode: 'image', tag_var: 'IMAGE_TAG', image_tag: 'model-{version}' })
      expect(config.environments.production).toMatchObject({ env_file: '.env.production' })
      const lines = r.stdout.split('\n')
      expect(lines).toContain(IMAGE_LINE)
      expect(lines).toContain(
        'production: .env.production is not in the tree; copy it from the example and fill in its values: ' +
          'cp .env.production.example .env.production',
      )
      expect(lines).toContain(
        'note: .env.qa.example: no compose override names an environment qa; add environments.qa by hand if it deploys',
      )
      // Nobody at a terminal: nothing is copied.
      expect(existsSync(join(ws, '.env.production'))).toBe(false)
      expect(r.stdout).toMatch(/next: npx modelship release --dry-run\n$/)
    },
  )

  it('in a terminal it offers to copy the example, and copies it when asked to', async () => {
    const ws = shippedRealApp()
    const out: string[] = []
    expect(await initCommand({ workspace: ws }, { prompter: sayYes, out: (l) => out.push(l) })).toBe(0)
    expect(readFileSync(join(ws, '.env.production'), 'utf8')).toBe(
      readFileSync(join(ws, '.env.production.example'), 'utf8'),
    )
    expect(out).toContain(
      'copied .env.production.example to .env.production: fill in its values (environments.production.env_file names ' +
        'it)',
    )
  })

  it("prints what the workflow scan finds in the real app's workflows, and the setting that follows", async () => {
    const r = await runCli(['init', '--workspace', shippedRealApp(), '--yes'], { env: cliEnv() })
    expect(r.code, r.stderr).toBe(0)
    const notes = r.stdout.split('\n').filter((l) => l.startsWith('note: ') && l.includes('.github/workflows/'))
    expect(notes.some((l) => /build-images\.yml:\d+/.test(l) && l.includes('vars.HF_INTENT_MODEL'))).toBe(true)
    expect(r.stdout).toContain('note: to release through the CI workflows')
    expect(r.stdout).toMatch(/^ {2}.*mode: github/m)
  })
})

describe('init says how to provide a Hugging Face token when it finds none (issue 23 item 3)', () => {
  it('names HF_TOKEN and the token files; says nothing when HF_TOKEN or a token file is there', async () => {
    const none = await runCli(['init', '--workspace', shippedRealApp(), '--yes'], { env: cliEnv() })
    expect(none.stdout).toContain('note: no Hugging Face token found')
    expect(none.stdout).toContain('HF_TOKEN=hf_… in the environment or in .env')
    expect(none.stdout).toContain('~/.cache/huggingface/token (what `hf auth login` writes)')

    const withEnv = await runCli(['init', '--workspace', shippedRealApp(), '--yes'], {
      env: cliEnv({ HF_TOKEN: 'hf_abcdefghijklmnopqrstuvwxyz0123456789' }),
    })
    expect(withEnv.stdout).not.toContain('no Hugging Face token found')
    expect(withEnv.stdout).not.toContain('hf_abcdefghijklmnopqrstuvwxyz0123456789')

    const cache = mkdtempSync(join(tmpdir(), 'modelship-hf-cache-'))
    dirs.push(cache)
    mkdirSync(join(cache, 'huggingface'))
    writeFileSync(join(cache, 'huggingface', 'token'), 'hf_abcdefghijklmnopqrstuvwxyz0123456789\n')
    const withFile = await runCli(['init', '--workspace', shippedRealApp(), '--yes'], {
      env: cliEnv({ XDG_CACHE_HOME: cache }),
    })
    expect(withFile.stdout).not.toContain('no Hugging Face token found')
  })
})

describe('init, then the next command it prints, with no Hugging Face token (issue 23 item 3)', () => {
  it('release --dry-run shows the whole plan, marks the steps the token is needed for, then exits 2 with the token ' +
    'error', async () => {
    const ws = copyInitApp()
    dirs.push(ws)
    const init = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toMatch(/next: npx modelship release --dry-run\n$/)
    // Nothing may be sent anywhere: a closed loopback port as the Hub, no engine.
    const env = cliEnv({ HF_ENDPOINT: 'http://127.0.0.1:9', DOCKER_HOST: 'unix:///nonexistent/modelship.sock' })
    const before = snapshotTree(ws)
    const dry = await runCli(['release', '--dry-run', '--workspace', ws], { env })
    process.stdout.write(
      `--- release --dry-run without HF_TOKEN ---\n${dry.stdout}${dry.stderr.split('\n').slice(-3).join('\n')}\n`,
    )
    expect(dry.code, dry.stderr).toBe(2)
    expect(dry.stdout).toContain('next model: acme/intent-classifier-v1.0 (now: acme/intent-classifier-v1.2)')
    for (const step of ['preflight', 'version', 'gate', 'push'])
      expect(dry.stdout).toContain(`# ✗ ${step} needs HF_TOKEN: `)
    expect(dry.stdout).toContain('! would push the model → acme/intent-classifier-v1.0 (private)')
    expect(dry.stdout).toContain('+HF_INTENT_MODEL=acme/intent-classifier-v1.0')
    expect(dry.stderr).toMatch(
      /^error: HF_TOKEN is not set: .*\(the plan above marks preflight, version, gate, push\)$/m,
    )
    expect(dry.stderr).toMatch(/^hint: .*~\/\.cache\/huggingface\/token/m)
    expect(snapshotTree(ws)).toEqual(before)

    const json = await runCli(['release', '--dry-run', '--json', '--workspace', ws], { env })
    expect(json.code).toBe(2)
    const out = JSON.parse(json.stdout) as Record<string, unknown>
    expect(out).toMatchObject({ ok: false, exitCode: 2, status: 'failed', error: { code: 'AUTH' } })
    expect(out.needsToken).toEqual(['preflight', 'version', 'gate', 'push'])
    expect((out.plan as string[]).some((l) => l.startsWith('# ✗ push needs HF_TOKEN'))).toBe(true)
  }, 120_000)
})
