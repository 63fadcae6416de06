import type { Log } from './types.js'
import type { Redactor } from '../secrets/redact.js'

/** A line-based log that redacts every message; warnings are prefixed so they stand out in plain output. */
export function createLog(write: (line: string) => void, redact: Redactor): Log {
  const emit = (line: string): void => write(redact(line))
  return {
    info: (m) => emit(m),
    warn: (m) => emit(`warning: ${m}`),
    plan: (m) => emit(m),
  }
}
