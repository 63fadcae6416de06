import { ModelshipError } from '../engine/errors.js'

/**
 * `environments.<name>.env_file`: one path or a list, passed as `--env-file` to every compose command of
 * that environment, in order. Absent or null means none (compose then reads `.env` beside the first file).
 */
export function parseEnvFileSetting(raw: unknown, where: string): string[] {
  if (raw === undefined || raw === null) return []
  const list = typeof raw === 'string' ? [raw] : raw
  if (!Array.isArray(list) || !list.every((p): p is string => typeof p === 'string' && p.trim() !== '')) {
    throw new ModelshipError('CONFIG', `${where}: expected a path or a list of paths`)
  }
  return list
}
