// `node tools/render-card-page.mjs [out.png]`: the picture of a model card the README shows (not run in CI).
//
// Makes two releases of the bundled example in a scratch copy of it (the first on two thirds of
// examples/data/feedback.jsonl, the second on all of it; held-out.jsonl as gates.eval_set, scored by the
// trainer's `evaluate`), then renders the v1.1 card the local registry holds — its Markdown as HTML, with the
// SVGs beside it — in headless Chromium (Debian `chromium`) and saves the page as one PNG, cropped to its
// content. Needs `npm run build` first.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { marked } from 'marked'
import { PNG } from 'pngjs'
import { parse, stringify } from 'yaml'

const repo = resolve(dirname(new URL(import.meta.url).pathname), '..')
const out = resolve(process.argv[2] ?? join(repo, 'docs', 'model-card-v1.1.png'))
const ws = mkdtempSync(join(tmpdir(), 'modelship-card-page-'))

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}

try {
  cpSync(join(repo, 'examples'), join(ws, 'examples'), { recursive: true })
  cpSync(join(repo, 'scripts', 'intent_trainer'), join(ws, 'scripts', 'intent_trainer'), { recursive: true })
  cpSync(join(repo, 'scripts', 'train_intent_classifier.py'), join(ws, 'scripts', 'train_intent_classifier.py'))
  const config = parse(readFileSync(join(repo, 'modelship.yaml'), 'utf8'))
  config.deploy.mode = 'none'
  config.trainer.args.backend = 'baseline'
  config.trainer.evaluate = ['python3', 'scripts/train_intent_classifier.py', 'evaluate']
  config.gates.eval_set = 'examples/data/heldout.jsonl'
  // The first release learns a third less: gates it passes on the held-out file, so both are released.
  config.gates.min_accuracy = 0.85
  config.gates.min_class_f1 = 0.8
  writeFileSync(join(ws, 'modelship.yaml'), stringify(config))
  const feedback = join(ws, 'examples', 'data', 'feedback.jsonl')
  const rows = readFileSync(feedback, 'utf8').trim().split('\n')
  const env = { ...process.env, CI: 'true', GITHUB_STEP_SUMMARY: '' }
  const cli = join(repo, 'dist', 'scripts', 'cli.js')
  writeFileSync(feedback, `${rows.filter((_, i) => i % 3 !== 0).join('\n')}\n`)
  run(process.execPath, [cli, 'release', '--workspace', ws, '--yes'], { env })
  writeFileSync(feedback, `${rows.join('\n')}\n`)
  run(process.execPath, [cli, 'release', '--workspace', ws, '--yes'], { env })

  const card = join(ws, '.modelship', 'registry', 'pratikoai', 'intent-classifier-v1.1')
  // The Hub shows the front matter apart from the card; the page shows the Markdown body, as the Hub renders it.
  const body = readFileSync(join(card, 'README.md'), 'utf8').replace(/^---\n[\s\S]*?\n---\n/, '')
  const html = `<!doctype html><meta charset="utf-8"><style>
    body { font: 15px/1.5 "DejaVu Sans", sans-serif; color: #1f2328; margin: 24px 32px; width: 900px; }
    h1 { font-size: 24px; border-bottom: 1px solid #d0d7de; padding-bottom: 6px; }
    h2 { font-size: 19px; margin-top: 28px; }
    code { background: #eff1f3; padding: 1px 4px; border-radius: 4px; font-size: 13px; word-break: break-all; }
    table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
    th, td { border: 1px solid #d0d7de; padding: 3px 8px; }
    th { background: #f6f8fa; } img { max-width: 900px; display: block; margin: 8px 0; }
  </style>${marked.parse(body)}`
  writeFileSync(join(card, 'card.html'), html)
  const shot = join(ws, 'page.png')
  run('chromium', [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    '--force-device-scale-factor=0.7',
    '--window-size=950,12000',
    `--screenshot=${shot}`,
    `file://${join(card, 'card.html')}`,
  ])
  // Cropped below the last row that is not white.
  const page = PNG.sync.read(readFileSync(shot))
  let last = 0
  for (let y = 0; y < page.height; y++)
    for (let x = 0; x < page.width; x++) {
      const i = (y * page.width + x) * 4
      if (page.data[i] < 250 || page.data[i + 1] < 250 || page.data[i + 2] < 250) {
        last = y
        break
      }
    }
  const height = Math.min(page.height, last + 24)
  const cropped = new PNG({ width: page.width, height, colorType: 2 })
  for (let y = 0; y < height; y++)
    for (let x = 0; x < page.width; x++) {
      const i = (y * page.width + x) * 4
      cropped.data.set(page.data.subarray(i, i + 4), i)
    }
  writeFileSync(out, PNG.sync.write(cropped, { colorType: 2, deflateLevel: 9 }))
  console.log(`${out}: ${page.width}x${height}, ${readFileSync(out).length} bytes`)
} finally {
  rmSync(ws, { recursive: true, force: true })
}
