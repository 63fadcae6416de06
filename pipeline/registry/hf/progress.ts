import type { Redactor } from '../../secrets/redact.js'
import type { PushRequest } from '../types.js'
import type { Report } from './local-files.js'

/**
 * Calls onProgress at most ~100 times per file and phase (a 2 GiB upload costs nothing noticeable),
 * never goes backwards within a phase, and masks secrets in file names.
 */
export function progressReporter(onProgress: PushRequest['onProgress'], redact: Redactor): Report {
  if (!onProgress) return () => {}
  const last = new Map<string, number>()
  return (file, phase, bytes, total) => {
    const key = `${phase}\0${file}`
    const prev = last.get(key)
    if (prev !== undefined && (bytes <= prev || (bytes < total && bytes - prev < total / 100))) return
    last.set(key, bytes)
    onProgress({ file: redact(file), phase, bytes, total })
  }
}
