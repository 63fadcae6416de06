import { spawnSync } from 'node:child_process'

/**
 * Whether the real Docker Compose v2 plugin answers (`docker compose version --short`, no engine needed).
 * Tests of compose's own view run on it; where it is missing they are skipped with this reason, and in CI
 * (CI set) a missing plugin fails instead (.ci/docker-stack.sh installs it).
 */
export function detectComposePlugin(): { ok: true; version: string } | { ok: false; reason: string } {
  const r = spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8', timeout: 20_000 })
  if (r.status === 0 && r.stdout.trim()) return { ok: true, version: r.stdout.trim() }
  const why = r.error ? r.error.message : (r.stderr || r.stdout).trim().split('\n')[0] || `exit ${r.status}`
  return { ok: false, reason: `no docker compose plugin (${why}): run .ci/docker-stack.sh` }
}
