/**
 * One contender of the push benchmark, as a whole process: `modelship` (createHfRegistry().push) or
 * `bare` (@huggingface/hub createRepo + uploadFiles). Prints one JSON line: wall seconds and VmHWM.
 *
 *   node --import tsx test/bench/push-child.ts <modelship|bare> <dir> <modelId> <endpoint> <token>
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { createRepo, uploadFiles } from '@huggingface/hub'
import { createHfRegistry } from '../../pipeline/registry/hf/index.js'

const [mode, dir = '', modelId = '', endpoint = '', token = ''] = process.argv.slice(2)
const readme = `---\nlibrary_name: transformers\n---\n# ${modelId}\n`
const [org = '', name = ''] = modelId.split('/')
const t0 = performance.now()
if (mode === 'modelship') {
  const registry = createHfRegistry({
    endpoint,
    token,
    org,
    prefix: name.replace(/-v\d+\.\d+$/, ''),
    retries: 3,
    backoffMs: 50,
  })
  let latest = 0
  await registry.push({
    modelId,
    dir,
    extraFiles: [{ path: 'README.md', content: readme }],
    commitMessage: `modelship: ${modelId} (run bench)`,
    onProgress: (p) => {
      latest = p.bytes
    },
  })
  void latest
} else if (mode === 'bare') {
  await createRepo({ repo: { type: 'model', name: modelId }, accessToken: token, hubUrl: endpoint, private: true })
  await uploadFiles({
    repo: { type: 'model', name: modelId },
    accessToken: token,
    hubUrl: endpoint,
    files: [
      ...readdirSync(dir).map((f) => pathToFileURL(join(dir, f))),
      { path: 'README.md', content: new Blob([readme]) },
    ],
    commitTitle: `Add ${modelId}`,
    useXet: false,
  })
} else {
  console.error('usage: push-child.ts <modelship|bare> <dir> <modelId> <endpoint> <token>')
  process.exit(2)
}
const seconds = (performance.now() - t0) / 1000
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]
console.log(JSON.stringify({ seconds, hwmKiB: Number(hwm ?? 0) }))
