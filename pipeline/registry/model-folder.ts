import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ModelshipError } from '../engine/errors.js'

/**
 * The files of a model folder that a push uploads, as repo paths with `/`, sorted: every file below
 * `dir`, symbolic links followed, hidden files and folders (.git, .cache, editor files) left out.
 * One rule for every registry backend.
 */
export async function listModelFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    let entries
    try {
      entries = await readdir(join(dir, rel), { withFileTypes: true })
    } catch (e) {
      if (rel === '') throw new ModelshipError('BAD_INPUT', `model folder ${dir} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e })
      throw e
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue
      const path = rel ? `${rel}/${entry.name}` : entry.name
      const target = entry.isSymbolicLink() ? await stat(join(dir, path)) : entry
      if (target.isDirectory()) await walk(path)
      else if (target.isFile()) out.push(path)
    }
  }
  await walk('')
  return out.sort()
}
