import { execFileSync } from 'node:child_process'
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'

/**
 * Puts the interpreter `python3` resolves to first on PATH, as a plain symlink: a pyenv (or asdf) shim
 * is a bash program that costs ~0.1 s per launch, and the suite starts the trainer hundreds of times.
 * Same interpreter, same packages; only the shim's lookup is skipped. The workers inherit the PATH.
 */
export default function setup(): () => void {
  let executable: string
  try {
    executable = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim()
  } catch {
    return () => undefined // no python3: the tests that need it say so
  }
  const found = execFileSync('bash', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim()
  if (!executable || realpathSync(found) === realpathSync(executable)) return () => undefined
  const dir = mkdtempSync(join(tmpdir(), 'modelship-test-python-'))
  symlinkSync(executable, join(dir, 'python3'))
  process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`
  return () => rmSync(dir, { recursive: true, force: true })
}
