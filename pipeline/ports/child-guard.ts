/**
 * Runs one command for modelship as the leader of its own process group and ties its life to
 * modelship's: `node child-guard.js <modelship-pid> <bin> [args…]`.
 *
 * Why: a trainer or a `docker compose build` must never outlive the run that started it. On Ctrl-C
 * modelship signals the whole group (SIGTERM, then SIGKILL after a grace period); and when modelship
 * itself is killed with SIGKILL, nothing could signal anyone, so this guard notices its parent is gone
 * and kills the group, so no orphan can later write into a run.
 */
import { spawn } from 'node:child_process'

const NOT_FOUND_EXIT = 127
const [parentArg, bin, ...args] = process.argv.slice(2)
const parent = Number(parentArg)

if (!bin || !Number.isInteger(parent)) {
  process.stderr.write('child-guard: usage: child-guard <parent-pid> <bin> [args…]\n')
  process.exit(2)
}

const child = spawn(bin, args, { stdio: 'inherit' })
// The group gets modelship's signals directly; the guard waits for the child to act on them.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => {})

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
const watch = setInterval(() => {
  if (!alive(parent)) process.kill(-process.pid, 'SIGKILL')
}, 200)

child.on('error', (e: NodeJS.ErrnoException) => {
  clearInterval(watch)
  process.stderr.write(
    e.code === 'ENOENT'
      ? `modelship-child-guard: ${bin}: command not found\n`
      : `modelship-child-guard: ${bin}: ${e.message}\n`,
  )
  process.exit(e.code === 'ENOENT' ? NOT_FOUND_EXIT : 126)
})
child.on('exit', (code, signal) => {
  clearInterval(watch)
  if (signal) {
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
    return
  }
  process.exit(code ?? 1)
})
