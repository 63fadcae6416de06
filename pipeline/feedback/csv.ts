/**
 * A streaming RFC 4180 CSV parser: comma-separated, fields optionally enclosed in double quotes,
 * `""` for a quote inside a quoted field, line breaks (CRLF, LF or CR) allowed inside quoted fields.
 * Feed it text chunks with `push()` (split anywhere, even inside a CRLF) and call `end()` once.
 *
 * Lenient where real exports are: blank lines are skipped, records may have different field counts,
 * and a quote inside an unquoted field is kept as a character.
 */

/** A malformed record; `line` is where the problem is (for an unterminated quote, where the field started). */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`)
    this.name = 'CsvSyntaxError'
  }
}

/** Longest field accepted: past this the input is almost certainly an unterminated quote. */
export const MAX_FIELD_CHARS = 16 * 1024 * 1024

const QUOTE = 0x22
const COMMA = 0x2c
const LF = 0x0a
const CR = 0x0d

// Parser states (plain numbers: the switch below is the hot loop).
const State = {
  FieldStart: 0,
  Unquoted: 1,
  Quoted: 2,
  /** Saw a `"` inside a quoted field: either the first half of `""` or the closing quote. */
  QuoteInQuoted: 3,
  /** After a closing quote: only a comma or a line break may follow. */
  AfterQuoted: 4,
} as const
type State = (typeof State)[keyof typeof State]

export class CsvParser {
  private state: State = State.FieldStart
  private field = ''
  private fields: string[] = []
  /** Current line number (1-based). */
  private line = 1
  private recordLine = 1
  private fieldLine = 1
  /** The previous chunk ended in CR: a LF starting the next chunk belongs to it. */
  private skipLF = false
  private first = true

  /** `onRecord` gets each record's fields and the line it started on. */
  constructor(private readonly onRecord: (fields: string[], line: number) => void) {}

  /** The line the parser has reached (for messages about input it cannot decode). */
  get currentLine(): number {
    return this.line
  }

  push(chunk: string): void {
    let i = 0
    const n = chunk.length
    if (this.first && n > 0) {
      this.first = false
      if (chunk.charCodeAt(0) === 0xfeff) i = 1
    }
    if (this.skipLF && n > 0) {
      this.skipLF = false
      if (chunk.charCodeAt(i) === LF) i++
    }
    let start = i
    while (i < n) {
      const c = chunk.charCodeAt(i)
      switch (this.state) {
        case State.Quoted:
          if (c === QUOTE) {
            this.append(chunk, start, i)
            this.state = State.QuoteInQuoted
            start = i + 1
          } else if (c === LF) {
            this.line++
          } else if (c === CR && chunk.charCodeAt(i + 1) !== LF && i + 1 < n) {
            this.line++ // a lone CR is a line break too
          }
          i++
          continue
        case State.QuoteInQuoted:
          if (c === QUOTE) {
            this.field += '"'
            this.state = State.Quoted
            i++
            start = i
            continue
          }
          this.state = State.AfterQuoted
        // falls through: the quote closed the field
        case State.AfterQuoted:
          if (c === COMMA) {
            this.endField()
            i++
            start = i
          } else if (c === LF || c === CR) {
            this.endField()
            this.endRecord()
            i = this.newline(chunk, i)
            start = i
          } else {
            throw new CsvSyntaxError(this.line, `unexpected ${describeChar(c)} after a closing quote (quote a field whole, and double quotes inside it)`)
          }
          continue
        case State.FieldStart:
          if (c === QUOTE) {
            this.state = State.Quoted
            this.fieldLine = this.line
            i++
            start = i
            continue
          }
          if ((c === LF || c === CR) && this.fields.length === 0) {
            // A blank line: no record.
            i = this.newline(chunk, i)
            this.recordLine = this.line
            start = i
            continue
          }
          this.state = State.Unquoted
        // falls through: the first character of an unquoted field
        case State.Unquoted:
          if (c === COMMA) {
            this.append(chunk, start, i)
            this.endField()
            i++
            start = i
          } else if (c === LF || c === CR) {
            this.append(chunk, start, i)
            this.endField()
            this.endRecord()
            i = this.newline(chunk, i)
            start = i
          } else {
            i++
          }
          continue
      }
    }
    if (this.state === State.Unquoted || this.state === State.Quoted) this.append(chunk, start, n)
  }

  /** Ends the input: emits the last record, or throws for an unterminated quoted field. */
  end(): void {
    switch (this.state) {
      case State.Quoted:
        throw new CsvSyntaxError(this.fieldLine, 'unterminated quoted field (the closing quote is missing)')
      case State.FieldStart:
        if (this.fields.length === 0) return
        break
      default:
        break
    }
    this.endField()
    this.endRecord()
  }

  private append(chunk: string, from: number, to: number): void {
    if (to <= from) return
    this.field += chunk.slice(from, to)
    if (this.field.length > MAX_FIELD_CHARS) {
      const where = this.state === State.Quoted ? this.fieldLine : this.line
      throw new CsvSyntaxError(where, `field longer than ${MAX_FIELD_CHARS} characters (an unterminated quote?)`)
    }
  }

  private endField(): void {
    this.fields.push(this.field)
    this.field = ''
    this.state = State.FieldStart
  }

  private endRecord(): void {
    const fields = this.fields
    this.fields = []
    this.onRecord(fields, this.recordLine)
  }

  /** Consumes the line break at `i` (CRLF counts once) and returns the index after it. */
  private newline(chunk: string, i: number): number {
    this.line++
    this.recordLine = this.line
    if (chunk.charCodeAt(i) === CR) {
      if (i + 1 < chunk.length) return chunk.charCodeAt(i + 1) === LF ? i + 2 : i + 1
      this.skipLF = true
    }
    return i + 1
  }
}

function describeChar(c: number): string {
  return c === QUOTE ? 'quote' : `character ${JSON.stringify(String.fromCharCode(c))}`
}
