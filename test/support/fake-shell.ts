import type { Command, RunOptions, Shell } from '../../pipeline/ports/types.js'
import { formatCommand } from '../../pipeline/ports/shell.js'

/**
 * A table-driven Shell for pipeline tests: each command's formatted argv maps to its stdout (or an
 * Error to throw); a command not in the table throws. (Dry-run is the ports' wrapper: writes never reach it.)
 */
export function fakeShell(table: Record<string, string | Error | ((argv: Command) => string)>) {
  const calls: string[] = []
  const envNames: string[][] = []
  const run = async (cmd: Command, opts?: RunOptions): Promise<string> => {
    const key = formatCommand(cmd)
    calls.push(key)
    envNames.push(Object.keys(opts?.env ?? {}))
    const entry = Object.entries(table).find(([pattern]) =>
      pattern.endsWith('*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern,
    )
    if (!entry) throw new Error(`unexpected command: ${key}`)
    if (entry[1] instanceof Error) throw entry[1]
    return typeof entry[1] === 'function' ? entry[1](cmd) : entry[1]
  }
  const shell: Shell = {
    read: run,
    write: run,
    killAll: async () => {},
  }
  return { shell, calls, envNames }
}
