import type { Redactor } from '../secrets/redact.js'

/** A command as data: the program and its arguments, never a shell string. */
export type Command = readonly [bin: string, ...args: string[]]

/** Options for one child process. */
export interface RunOptions {
  /** Extra environment for this one command only (e.g. HF_TOKEN for the image build). */
  env?: Readonly<Record<string, string | undefined>>
  /** Working directory; default the workspace. */
  cwd?: string
  /** Called with each output line (already redacted) as it arrives, blank lines included. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void
  /**
   * Stops this one child's process group when aborted (SIGTERM, then SIGKILL after the grace period): for a
   * command whose outcome is read elsewhere, e.g. `docker stack deploy --detach=false`, which waits forever
   * on an update that stalls. The run then rejects as a stopped command.
   */
  signal?: AbortSignal
}

/**
 * The only way modelship runs programs. `read` always runs (probes: `docker info`, `ps`);
 * `write` changes something and, in dry-run, prints `! <argv>` and returns `undefined` instead.
 * Output and error messages are redacted before they leave the port.
 */
export interface Shell {
  read(cmd: Command, opts?: RunOptions): Promise<string>
  write(cmd: Command, opts?: RunOptions): Promise<string | undefined>
  /**
   * Stops every running child's process group (SIGTERM, then SIGKILL after a grace period; `now`:
   * SIGKILL at once) and waits for them; used on Ctrl-C.
   */
  killAll(o?: { now?: boolean }): Promise<void>
}

/** Line-based user-facing output. Every message is redacted by the implementation. */
export interface Log {
  info(message: string): void
  warn(message: string): void
  /** A plan line (dry-run): printed as is. */
  plan(message: string): void
}

/** Time, injectable so tests control waiting. */
export interface Clock {
  now(): Date
  sleep(ms: number): Promise<void>
}

/**
 * File-system writes to the user's files (compose files, env files). `writeAtomic` writes a temp
 * file beside the target and renames it over; in dry-run it prints `! write <path>` and writes nothing.
 */
export interface UserFiles {
  readText(path: string): Promise<string>
  exists(path: string): Promise<boolean>
  writeAtomic(path: string, content: string): Promise<void>
}

export interface PortsBase {
  readonly redact: Redactor
}
