import { parseDocument, visit, type Document } from 'yaml'
import { join } from 'node:path'
import { ModelshipError } from '../engine/errors.js'
import type { UserFiles } from '../ports/types.js'

// Parsing a compose file and pointing into its text. The editor parses only to FIND nodes; every
// position it reports (line, column, the line itself) comes from the original text.

/** Compose files lean on `<<: *defaults`; yaml's default alias budget (100) is for untrusted input. */
export const TO_JS = { maxAliasCount: 10_000 }

/** Offset → 1-based line and column. */
export function lineColOf(text: string, offset: number): { line: number; col: number } {
  let line = 1
  let start = 0
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++
    start = i + 1
  }
  return { line, col: offset - start + 1 }
}

/** The whole line holding `offset`, without its line ending. */
export function lineAt(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1
  const nl = text.indexOf('\n', offset)
  return text.slice(start, nl < 0 ? text.length : nl).replace(/\r$/, '')
}

function yamlError(file: string, text: string, offset: number, message: string): ModelshipError {
  const { line, col } = lineColOf(text, offset)
  // The offending line with a caret under the column, printed after the message.
  const details = `${lineAt(text, offset)}\n${' '.repeat(Math.max(0, col - 1))}^`
  return new ModelshipError('BAD_INPUT', `${file}:${line}:${col}: YAML error: ${message}`, { details })
}

/** Parsed documents by text, for readers (READ_CACHE_SIZE most recent texts). */
const readCache = new Map<string, Document.Parsed>()
const READ_CACHE_SIZE = 8

/**
 * parseCompose for code that only reads the document: the same text parses once per process, however
 * many checks look at it (a release's preflight reads each compose file five times: services, model,
 * variables, build, secrets). The document is shared: never change it — the editor takes its own
 * (parseCompose).
 */
export function parseComposeForReading(text: string, file: string): Document.Parsed {
  const cached = readCache.get(text)
  if (cached) return cached
  const doc = parseCompose(text, file)
  if (readCache.size >= READ_CACHE_SIZE) readCache.delete(readCache.keys().next().value!)
  readCache.set(text, doc)
  return doc
}

/**
 * Parses a compose file. Unknown tags (`!override`, `!reset`) pass through: the yaml library only
 * warns about them and keeps the node, which is all a text splice needs. Merge keys are on, as in
 * docker compose. Errors (syntax, duplicate keys, an alias used before its anchor) throw BAD_INPUT
 * with file:line:col.
 */
export function parseCompose(text: string, file: string): Document.Parsed {
  const doc = parseDocument(text, { merge: true, prettyErrors: false, keepSourceTokens: false })
  const [err] = doc.errors
  if (err) throw yamlError(file, text, err.pos[0], err.message.split('\n')[0] ?? err.message)
  // yaml resolves aliases lazily, so an alias whose anchor is defined later (or never) parses without
  // error. Docker compose (go-yaml) rejects such a file ("unknown anchor referenced"), so do we, before
  // any edit: a file compose cannot load must not be half-edited and then fail at build time.
  const anchors = new Set<string>()
  visit(doc, {
    Node(_, node) {
      if ('anchor' in node && typeof node.anchor === 'string') anchors.add(node.anchor)
    },
  })
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined) return
      const where = alias.range?.[0] ?? 0
      const name = alias.source
      throw yamlError(
        file,
        text,
        where,
        anchors.has(name)
          ? `alias *${name} is used before its anchor &${name} is defined; YAML (and docker compose) need the ` +
              `anchor first — move the block with &${name} above its first use`
          : `alias *${name} refers to no anchor &${name}`,
      )
    },
  })
  return doc
}

export interface ReadableComposeDoc {
  index: number
  file: string
  text: string
  doc: Document.Parsed
}

/**
 * The compose files of a list that exist and parse, in list order, each with its document and its place in the
 * list. Readers that only look (doctor, `current`) skip the others: their problems are reported where the files
 * are checked and edited.
 */
export async function readableComposeDocs(
  workspace: string,
  composeFiles: readonly string[],
  files: UserFiles,
): Promise<ReadableComposeDoc[]> {
  const out: ReadableComposeDoc[] = []
  for (const [index, file] of composeFiles.entries()) {
    const path = join(workspace, file)
    if (!(await files.exists(path))) continue
    const text = await files.readText(path)
    try {
      out.push({ index, file, text, doc: parseComposeForReading(text, file) })
    } catch {
      // not YAML compose can read: reported elsewhere
    }
  }
  return out
}
