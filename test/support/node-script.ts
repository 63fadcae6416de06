import { spawn } from 'node:child_process'

/** Runs an ES-module script in a fresh node process (its own memory, for RSS measurements) and collects its output. */
export async function runNodeScript(
  script: string,
  o: { env: NodeJS.ProcessEnv; cwd?: string; nodeFlags?: string[] },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...(o.nodeFlags ?? []), '--input-type=module', '-e', script], {
    ...(o.cwd ? { cwd: o.cwd } : {}),
    env: o.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr }
}
