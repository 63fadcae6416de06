// Issue 25 item 6: a secret is masked in its other forms too — URL-encoded, base64 and base64url at each
// of the three byte offsets, an `Authorization:` header's value, and any text shaped like a Hugging Face
// token (hf_ + 30 or more letters and digits) whether configured or not — everywhere modelship writes:
// the terminal, the trainer log, --json, history, run state, the step summary and the model card.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createRedactor } from '../pipeline/secrets/redact.js'
import { createDockerShim } from './support/docker-shim.js'
import { cleanup, cliEnv, makeWorkspace, REPO, runCli, snapshotTree } from './support/workspace.js'

const cleanups: Array<() => void> = []
afterEach(() => {
  while (cleanups.length) cleanups.pop()!()
})

const HF_TOKEN = 'hf_ConfiguredSecretTokenValue0123456789'
// A token with characters that URL-encoding changes.
const FEEDBACK_API_TOKEN = 'fb/tok+en=Secret:value!42'
const UNCONFIGURED = `hf_${'Qx'.repeat(17)}`
const BASIC = Buffer.from('deploy:an-unconfigured-password').toString('base64')

const b64 = (text: string, url = false): string => Buffer.from(text).toString(url ? 'base64url' : 'base64')

/** Each form in a line of its own, as a careless trainer or a failing build prints them. */
const LINES = [
  `exact: ${HF_TOKEN}`,
  `url-encoded: ?token=${encodeURIComponent(FEEDBACK_API_TOKEN)}&x=1`,
  ...['', 'a', 'ab'].flatMap((prefix) => [
    `base64 at offset ${prefix.length}: ${b64(`${prefix}${HF_TOKEN}"}`)}`,
    `base64url at offset ${prefix.length}: ${b64(`${prefix}{"t":"${FEEDBACK_API_TOKEN}"}`, true)}`,
  ]),
  `Authorization: Basic ${BASIC}`,
  `unconfigured: ${UNCONFIGURED}`,
]

/**
 * The part of `secret`'s base64 (or base64url) that any text holding it at byte offset 0, 1 or 2 contains,
 * computed here independently of the redactor: the middle of the encodings of 'a' + secret + 'b' shifted.
 */
function encodedCores(secret: string): string[] {
  return [0, 1, 2].flatMap((offset) => {
    const encoded = b64(`${'x'.repeat(offset)}${secret}`)
    const core = encoded.slice(Math.ceil((offset * 4) / 3), Math.floor(((offset + secret.length) * 4) / 3))
    return [core, core.replace(/\+/g, '-').replace(/\//g, '_')]
  })
}

/** What must appear nowhere: every form's secret-bearing text. */
const LEAKS = [
  ...[HF_TOKEN, FEEDBACK_API_TOKEN].flatMap((s) => [s, encodeURIComponent(s), ...encodedCores(s)]),
  BASIC,
  UNCONFIGURED,
]

function expectNoLeak(where: string, text: string): void {
  for (const leak of LEAKS) expect(text.includes(leak), `${where} holds ${leak}`).toBe(false)
}

describe('secretForms and the redactor', () => {
  it('masks each form of a configured secret inside longer text, and unconfigured tokens and headers', () => {
    const redact = createRedactor([HF_TOKEN, FEEDBACK_API_TOKEN])
    for (const line of LINES) {
      const out = redact(line)
      expect(out).toContain('***')
      expectNoLeak(line, out)
    }
    expect(redact('hf_endpoint: https://huggingface.co, plain text stays')).toBe(
      'hf_endpoint: https://huggingface.co, plain text stays',
    )
  })
})

describe('a release whose trainer prints every form, and a build that fails with them', () => {
  it('masks them in the terminal, the trainer log, --json, history, state, the step summary and the card', async () => {
    const ws = makeWorkspace({
      config: {
        trainer: {
          command: ['python3', join(REPO, 'test', 'fixtures', 'trainers', 'hostile_trainer.py')],
          args: { 'say-file': 'FORMS_FILE' },
          // training_args.json is the trainer's own file: the card reads it, the push leaves it home.
          exclude: ['training_args.json'],
        },
        deploy: { mode: 'none' },
      },
    })
    const outside = mkdtempSync(join(tmpdir(), 'modelship-forms-'))
    cleanups.push(
      () => cleanup(ws),
      () => cleanup(outside),
    )
    const said = join(outside, 'forms.txt')
    writeFileSync(said, `${LINES.join('\n')}\n`)
    const config = readFileSync(join(ws, 'modelship.yaml'), 'utf8').replace('FORMS_FILE', said)
    writeFileSync(join(ws, 'modelship.yaml'), config)
    const summary = join(outside, 'summary.md')
    const env = cliEnv({ HF_TOKEN, FEEDBACK_API_TOKEN, GITHUB_STEP_SUMMARY: summary })
    const r = await runCli(['release', '--yes', '--json', '--workspace', ws], { env })
    expect(r.code, r.stderr).toBe(0)
    // The trainer's lines reach its log (the terminal shows its last line), masked.
    const logs = [...snapshotTree(ws)].filter(([p]) => /^\.modelship\/runs\/[^/]+\/[^/]*\.log$/.test(p))
    expect(logs.map(([, c]) => c).join('')).toContain('unconfigured: ***')
    expectNoLeak('the terminal', r.stdout + r.stderr)
    expectNoLeak('the step summary', readFileSync(summary, 'utf8'))
    const card = [...snapshotTree(join(ws, '.modelship', 'registry'))].find(([p]) => p.endsWith('README.md'))
    expect(card?.[1]).toContain('***')
    // Everything modelship wrote (the trainer's own model folder in the run is its output, not ours).
    for (const [path, content] of snapshotTree(ws))
      if (!/^\.modelship\/runs\/[^/]+\/model\//.test(path)) expectNoLeak(path, content)

    // A failing build whose error carries the forms: the one error line, --json and history.
    writeFileSync(
      join(ws, 'modelship.yaml'),
      readFileSync(join(ws, 'modelship.yaml'), 'utf8').replace('mode: none', 'mode: compose'),
    )
    const shim = createDockerShim({ fail: [{ command: 'build', message: LINES.join(' | ') }] })
    cleanups.push(() => shim.cleanup())
    const promote = await runCli(['promote', 'bart', '--deploy', '--yes', '--json', '--workspace', ws], {
      env: cliEnv({ ...shim.env, HF_TOKEN, FEEDBACK_API_TOKEN }),
    })
    expect(promote.code, promote.stderr).not.toBe(0)
    expect(promote.stderr).toMatch(/^error: .*\*\*\*/m)
    expectNoLeak('the promote output', promote.stdout + promote.stderr)
    for (const [path, content] of snapshotTree(join(ws, '.modelship')))
      if (!/^runs\/[^/]+\/model\//.test(path)) expectNoLeak(path, content)
  }, 180_000)
})
