import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { ModelshipError } from '../pipeline/engine/errors.js'
import { createShell } from '../pipeline/ports/shell.js'
import { createRedactor } from '../pipeline/secrets/redact.js'

const SECRET = 'hf_shellportsecret123'
const node = process.execPath
const shell = () => createShell({ cwd: process.cwd(), env: process.env, redact: createRedactor([SECRET]) })

async function failure(p: Promise<unknown>): Promise<ModelshipError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toMatchObject({ name: 'ModelshipError' })
  return e as ModelshipError
}

describe('the real shell port', () => {
  for (const method of ['read', 'write'] as const) {
    it(`${method}: passes each argv element as it is (no shell word splitting or expansion)`, async () => {
      const arg = `$HOME; echo "x" 'y' *`
      const out = await shell()[method]([
        node,
        '-e',
        'process.stdout.write(JSON.stringify(process.argv.slice(1)))',
        arg,
        '',
      ])
      expect(JSON.parse(out!)).toEqual([arg, ''])
    })

    it(`${method}: a non-zero exit is STEP_FAILED naming the command and the stderr tail, secrets masked`, async () => {
      const script = `console.error('first'); console.error('token ${SECRET}'); process.exit(3)`
      const e = await failure(shell()[method]([node, '-e', script]))
      expect(e.code).toBe('STEP_FAILED')
      expect(e.message).toMatch(/exited with 3: first \| token \*\*\*$/)
      expect(`${e.message} ${e.details}`).not.toContain(SECRET)
    })

    it(`${method}: streams redacted lines to onLine, per stream, and adds env for this command only`, async () => {
      const lines: string[] = []
      const script = `console.log('a ' + process.env.EXTRA); console.error('b ${SECRET}'); process.stdout.write('c')`
      const out = await shell()[method]([node, '-e', script], {
        env: { EXTRA: 'value' },
        onLine: (l, s) => lines.push(`${s}: ${l}`),
      })
      expect(out).toBe('a value\nc')
      expect(lines.sort()).toEqual(['stderr: b ***', 'stdout: a value', 'stdout: c'])
    })
  }

  for (const method of ['read', 'write'] as const) {
    it(`${method}: a program that does not exist is "command not found"`, async () => {
      const e = await failure(shell()[method](['modelship-no-such-program-xyz', '--version']))
      expect(e.message).toBe('modelship-no-such-program-xyz: command not found')
    })
  }

  it(
    "write: bash never runs the user's ~/.bashrc (node's stdio pipes are sockets, which bash takes for " + 'ssh)',
    async () => {
      const home = mkdtempSync(join(tmpdir(), 'modelship-home-'))
      try {
        const marker = join(home, 'bashrc-ran')
        writeFileSync(join(home, '.bashrc'), `echo ran >> ${JSON.stringify(marker)}\n`)
        // No SHLVL, as under cron or CI: the case where bash reads ~/.bashrc for a socket on stdin.
        const env = { HOME: home, PATH: process.env.PATH }
        const sh = createShell({ cwd: home, env, redact: createRedactor([]) })
        expect(await sh.write(['bash', '-c', 'echo child'])).toBe('child')
        expect(existsSync(marker)).toBe(false)
      } finally {
        rmSync(home, { recursive: true, force: true })
      }
    },
  )

  it('killAll stops running children and their calls fail as stopped', async () => {
    const sh = shell()
    const started = Date.now()
    const reading = failure(sh.read([node, '-e', 'setTimeout(() => {}, 60000)']))
    const writing = failure(sh.write([node, '-e', 'setTimeout(() => {}, 60000)']))
    await new Promise((resolve) => setTimeout(resolve, 500))
    await sh.killAll()
    expect((await reading).message).toMatch(/was stopped by SIGTERM/)
    expect((await writing).code).toBe('STEP_FAILED')
    expect(Date.now() - started).toBeLessThan(30_000)
  })
})
