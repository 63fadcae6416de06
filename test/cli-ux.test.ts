import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { resolveModelRef } from '../pipeline/model/model-ref.js'
import { STEP_NAMES } from '../tasks/index.js'
import { copyInitApp, useBaselineTrainer } from './support/init-app.js'
import { cleanup, cliEnv, REPO, runCli, snapshotTree } from './support/workspace.js'

const dirs: string[] = []
afterEach(() => {
  while (dirs.length) cleanup(dirs.pop()!)
})
async function initApp(): Promise<string> {
  const ws = copyInitApp()
  dirs.push(ws)
  const r = await runCli(['init', '--workspace', ws, '--yes'], { env: cliEnv() })
  expect(r.code).toBe(0)
  useBaselineTrainer(ws)
  return ws
}
const local = (extra: Record<string, string> = {}) => cliEnv({ MODELSHIP_REGISTRY: 'local', ...extra })

describe('CLI conventions', () => {
  it('no arguments: the help on stderr, nothing on stdout, exit 2', async () => {
    const r = await runCli([])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain('Usage: modelship [options] [command]')
  })

  it('--help prints the help the build saved, the same text the program prints (and exit 0)', async () => {
    const fast = await runCli(['--help'])
    expect(fast.code).toBe(0)
    const { spawnSync } = await import('node:child_process')
    const program = spawnSync(process.execPath, [join(REPO, 'dist', 'esm', 'scripts', 'program.js'), '--help'], {
      encoding: 'utf8',
    })
    expect(program.status).toBe(0)
    expect(fast.stdout).toBe(program.stdout)
    for (const cmd of ['release', 'list', 'current', 'doctor', 'init', 'runs'])
      expect(fast.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'))
  })

  it('every subcommand help has two examples and its exit codes; release lists the step names', async () => {
    for (const cmd of ['release', 'init', 'list', 'current', 'promote', 'push', 'rollback', 'history', 'runs']) {
      const r = await runCli([cmd, '--help'])
      expect(r.code, cmd).toBe(0)
      const examples = r.stdout.split('Examples:\n')[1]?.split('\n\n')[0] ?? ''
      expect(
        examples.split('\n').filter((l) => l.startsWith('  $ ')),
        cmd,
      ).toHaveLength(2)
      expect(r.stdout, cmd).toMatch(/Exit codes:\n {2}0 done\n/)
      if (r.stdout.includes('--json')) expect(r.stdout, cmd).toMatch(/--json\s+JSON on stdout: \S/)
    }
    const release = await runCli(['release', '--help'])
    expect(release.stdout).toContain(`Steps (for --from): ${STEP_NAMES.join(', ')}`)
    const history = await runCli(['history', '--help'])
    expect(history.stdout).not.toContain('default: production')
    expect(history.stdout).toContain('only this environment (default: every environment)')
  })

  it('--yes and --ci on every mutating command, --dry-run on promote, rollback and push', async () => {
    for (const cmd of ['release', 'init', 'promote', 'push', 'rollback']) {
      const help = (await runCli([cmd, '--help'])).stdout
      expect(help, cmd).toMatch(/-y, --yes/)
      expect(help, cmd).toMatch(/--ci\s/)
      if (cmd !== 'init') expect(help, cmd).toContain('--dry-run')
    }
  })
})

describe('short model ids', () => {
  const naming = { org: 'acme', prefix: 'intent-classifier', baseAliases: ['mdeberta', 'bart'] }
  it('v1.3, 1.3 and <prefix>-v1.3 name <org>/<prefix>-v1.3; aliases and full ids are kept', () => {
    for (const short of ['v1.3', '1.3', 'intent-classifier-v1.3', ' v1.3 '])
      expect(resolveModelRef(short, naming)).toBe('acme/intent-classifier-v1.3')
    expect(resolveModelRef('mdeberta', naming)).toBe('mdeberta')
    expect(resolveModelRef('other/intent-classifier-v1.3', naming)).toBe('other/intent-classifier-v1.3')
    expect(resolveModelRef('other-v1.3', naming)).toBe('other-v1.3')
  })

  it('promote, rollback --to and push take short ids', async () => {
    const ws = await initApp()
    const model = join(ws, 'out')
    mkdirSync(model)
    writeFileSync(join(model, 'config.json'), '{"architectures":["X"]}\n')
    writeFileSync(join(model, 'model.safetensors'), Buffer.alloc(2048, 1))
    const pushed = await runCli(['push', model, 'intent-classifier-v1.3', '--workspace', ws, '--yes'], { env: local() })
    expect(pushed.stderr).toBe('')
    expect(pushed.stdout).toContain('pushed acme/intent-classifier-v1.3')
    const promoted = await runCli(['promote', 'v1.3', '--env', 'staging', '--workspace', ws, '--yes'], { env: local() })
    expect(promoted.stderr).toBe('')
    expect(promoted.code).toBe(0)
    expect(readFileSync(join(ws, 'docker-compose.staging.yml'), 'utf8')).toContain(
      'HF_INTENT_MODEL: acme/intent-classifier-v1.3',
    )
    const back = await runCli(
      ['rollback', '--to', '1.3', '--env', 'production', '--no-deploy', '--workspace', ws, '--ci'],
      { env: local() },
    )
    expect(back.code).toBe(0)
    expect(readFileSync(join(ws, '.env.production'), 'utf8')).toContain('HF_INTENT_MODEL=acme/intent-classifier-v1.3')
  })
})

describe('push --dry-run', () => {
  it('lists the files and sizes it would upload and touches nothing', async () => {
    const ws = await initApp()
    const model = join(ws, 'out')
    mkdirSync(join(model, 'checkpoint-10'), { recursive: true })
    writeFileSync(join(model, 'config.json'), '{}\n')
    writeFileSync(join(model, 'model.safetensors'), Buffer.alloc(3 * 1024, 1))
    writeFileSync(join(model, 'checkpoint-10', 'optimizer.pt'), 'x')
    const before = snapshotTree(ws)
    const r = await runCli(['push', model, '1.4', '--dry-run', '--workspace', ws], { env: local() })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('would push acme/intent-classifier-v1.4 (private)')
    expect(r.stdout).toContain('  config.json  3 bytes')
    expect(r.stdout).toContain('  model.safetensors  3.0 KiB')
    expect(r.stdout).toContain('  README.md  (model card, generated)')
    expect(r.stdout).not.toContain('optimizer.pt')
    expect(snapshotTree(ws)).toEqual(before)
  })
})

describe('CI', () => {
  it('release appends a Markdown summary to GITHUB_STEP_SUMMARY', async () => {
    const ws = await initApp()
    const summary = join(ws, 'step-summary.md')
    writeFileSync(summary, '# earlier step\n')
    const r = await runCli(['release', '--env', 'staging', '--no-deploy', '--workspace', ws], {
      env: local({ GITHUB_STEP_SUMMARY: summary }),
    })
    expect(r.stderr).not.toContain('error:')
    expect(r.code).toBe(0)
    const md = readFileSync(summary, 'utf8')
    expect(md.startsWith('# earlier step\n## modelship release: `acme/intent-classifier-v1.0` → staging\n')).toBe(true)
    expect(md).toMatch(/\| accuracy \| \d\.\d{4} \| ≥ 0\.9 \|/)
    expect(md).toContain('+        HF_INTENT_MODEL: acme/intent-classifier-v1.0')
    expect(md).toMatch(/\| train \| done \| \d+\.\d s \|/)
    expect(md).toMatch(/Total: \d+\.\d s/)
  })

  it('the example workflow is valid YAML and runs a release command the CLI has, with those flags', async () => {
    const wf = parse(readFileSync(join(REPO, 'examples', 'ci', 'release-model.yml'), 'utf8')) as Record<string, any>
    expect(wf.on.workflow_dispatch.inputs.environment).toBeDefined()
    expect(wf.on.schedule[0].cron).toMatch(/\S+ \S+ \S+ \S+ \S+/)
    const steps = Object.values(wf.jobs as Record<string, { steps: Array<Record<string, any>> }>).flatMap(
      (j) => j.steps,
    )
    const release = steps.find((s) => typeof s.run === 'string' && s.run.includes('npx modelship release'))!
    expect(release.env).toMatchObject({
      HF_TOKEN: '${{ secrets.HF_TOKEN }}',
      FEEDBACK_API_TOKEN: '${{ secrets.FEEDBACK_API_TOKEN }}',
      DATABASE_URL: '${{ secrets.DATABASE_URL }}',
    })
    const argv = (release.run as string).split('>')[0]!.trim().split(/\s+/)
    expect(argv.slice(0, 3)).toEqual(['npx', 'modelship', 'release'])
    const help = (await runCli(['release', '--help'])).stdout
    const flags = argv.filter((a) => a.startsWith('-'))
    expect(flags).toEqual(['--yes', '--json', '--env'])
    for (const flag of flags) expect(help).toMatch(new RegExp(`(^|[ ,])${flag}\\b`, 'm'))
    expect(
      steps.some(
        (s) =>
          String(s.uses).startsWith('actions/upload-artifact') && String(s.with?.path).includes('.modelship/runs/'),
      ),
    ).toBe(true)
    expect(readdirSync(join(REPO, 'examples', 'ci'))).toContain('release-model.yml')
  })
})
