import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sha256File } from '../pipeline/fs-atomic.js'
import { JsonlFile } from '../pipeline/feedback/jsonl-file.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'modelship-scratch-test-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** ~24 MB of dataset lines: past the bytes after which a durable file is flushed along the way. */
async function writeLines(file: JsonlFile): Promise<string> {
  const label = Buffer.from('"chitchat"')
  for (let i = 0; i < 300_000; i++) {
    const text = Buffer.from(`Qual è la scadenza per il regime forfettario per la pratica n. ${i}?`)
    file.writeLine(text, 0, text.length, 0, label, undefined)
    await file.ready()
  }
  return file.commit()
}

describe('the dataset file of a dry run (scratch: durable false)', () => {
  it('has the same bytes and sha256 as a durable one, renamed into place, but is never flushed to disk', async () => {
    const durable = await JsonlFile.open(join(dir, 'durable.jsonl'))
    const scratch = await JsonlFile.open(join(dir, 'scratch.jsonl'), { durable: false })
    const [durableSha, scratchSha] = [await writeLines(durable), await writeLines(scratch)]

    expect(durable.durable).toBe(true)
    expect(durable.syncs).toBeGreaterThan(0)
    expect(scratch.durable).toBe(false)
    expect(scratch.syncs).toBe(0)
    expect(scratchSha).toBe(durableSha)
    expect(await sha256File(join(dir, 'scratch.jsonl'))).toBe(scratchSha)
    expect((await readFile(join(dir, 'scratch.jsonl'))).equals(await readFile(join(dir, 'durable.jsonl')))).toBe(true)
    // Atomic as ever: only the two destinations, no temp file left.
    expect((await readdir(dir)).sort()).toEqual(['durable.jsonl', 'scratch.jsonl'])
  })
})
