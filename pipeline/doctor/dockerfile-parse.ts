// Just enough of the Dockerfile grammar for doctor: instructions with their first line, continuation
// lines joined (comment lines inside them dropped, as BuildKit does), heredoc bodies kept with their RUN.

export interface Instruction {
  /** Upper case: FROM, ARG, ENV, RUN, … */
  keyword: string
  /** Everything after the keyword, continuations joined with `\n`, heredoc bodies appended. */
  body: string
  /** 1-based line of the keyword. */
  line: number
}

const HEREDOC = /<<-?\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\1/g

export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/)
  const escapeChar = /^#\s*escape\s*=\s*`/i.test(lines[0] ?? '') ? '`' : '\\'
  const out: Instruction[] = []
  let i = 0
  while (i < lines.length) {
    const first = lines[i]!
    const start = i
    i++
    if (first.trim() === '' || first.trimStart().startsWith('#')) continue
    const parts = [first]
    let current = first
    while (current.trimEnd().endsWith(escapeChar) && i < lines.length) {
      const next = lines[i]!
      i++
      if (next.trimStart().startsWith('#')) continue
      parts.push(next)
      current = next
    }
    const joined = parts.map((p) => p.trimEnd().replace(new RegExp(`\\${escapeChar}$`), '')).join('\n')
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(joined)
    if (!m) continue
    let body = m[2]!
    for (const [, , marker] of joined.matchAll(HEREDOC)) {
      const bodyLines: string[] = []
      while (i < lines.length && lines[i]!.replace(/^\t+/, '') !== marker) bodyLines.push(lines[i++]!)
      i++
      body += `\n${bodyLines.join('\n')}`
    }
    out.push({ keyword: m[1]!.toUpperCase(), body, line: start + 1 })
  }
  return out
}

/**
 * The `--flag=value` options at the start of a RUN (e.g. `--mount=type=secret,id=hf_token`) and the command after them.
 */
export function runFlags(body: string): { flags: string[]; command: string } {
  const flags: string[] = []
  let rest = body.trimStart()
  for (;;) {
    const m = /^--([a-z-]+)(=(?:"[^"]*"|'[^']*'|\S)*)?\s*/.exec(rest)
    if (!m) break
    flags.push(m[0].trim())
    rest = rest.slice(m[0].length)
  }
  return { flags, command: rest }
}

/** The key=value options of one `--mount=…` flag. */
export function mountOptions(flag: string): Record<string, string> {
  const value = flag.replace(/^--mount=/, '').replace(/^["']|["']$/g, '')
  const out: Record<string, string> = {}
  for (const part of value.split(',')) {
    const [k, ...v] = part.split('=')
    if (k) out[k.trim()] = v.join('=').trim() || 'true'
  }
  return out
}
