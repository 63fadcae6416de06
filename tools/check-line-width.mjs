// Fails on source lines wider than the formatter's width (Biome's lineWidth in biome.json). Biome wraps code
// but leaves long strings, template literals and comments as they are; this check covers what it leaves.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const width = JSON.parse(readFileSync('biome.json', 'utf8')).formatter.lineWidth
const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mjs'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && !f.startsWith('node_modules/'))
const long = []
for (const file of files) {
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    continue // listed by git but deleted in the work tree
  }
  text.split(/\r?\n/).forEach((line, i) => {
    if ([...line].length > width) long.push(`${file}:${i + 1}: ${[...line].length} characters (at most ${width})`)
  })
}
if (long.length > 0) {
  process.stderr.write(`${long.join('\n')}\n${long.length} line(s) wider than ${width}: wrap the string or comment\n`)
  process.exit(1)
}
