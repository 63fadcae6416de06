import { readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ModelshipError } from '../pipeline/engine/errors.js'
import { parseMetricsJson, type TrainingMetrics } from '../pipeline/model/metrics.js'
import { renderModelCard } from '../pipeline/registry/model-card.js'
import { modelIdFor, parseVersion } from '../pipeline/registry/version.js'
import { readLabels } from '../pipeline/model/trainer.js'
import { readTrainingOrigin, withoutAbsolutePathFiles } from '../pipeline/model/training-args.js'
import { listPushFiles } from '../pipeline/registry/model-folder.js'
import { openWorkspace } from './workspace.js'

export async function pushCommand(path: string, versionText: string, flags: { workspace?: string; json?: boolean }): Promise<number> {
  const version = parseVersion(versionText, 'push <version>')
  const ws = await openWorkspace({ workspaceFlag: flags.workspace, json: flags.json === true })
  const { config, registry } = ws.deps
  const dir = resolve(ws.workspace, path)
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false)
  if (!isDir) throw new ModelshipError('BAD_INPUT', `push <path>: ${dir} is not a directory`)
  const configJson = await readFile(join(dir, 'config.json'), 'utf8').catch(() => undefined)
  if (configJson === undefined) throw new ModelshipError('BAD_INPUT', `push <path>: ${dir} holds no config.json (is it a model folder?)`)
  try {
    JSON.parse(configJson)
  } catch (e) {
    throw new ModelshipError('BAD_INPUT', `${join(dir, 'config.json')}: not valid JSON (${(e as Error).message})`)
  }
  const metricsText = await readFile(join(dir, 'metrics.json'), 'utf8').catch(() => undefined)
  let metrics: TrainingMetrics | undefined
  if (metricsText !== undefined) {
    const parsed = parseMetricsJson(metricsText)
    if (!parsed.ok) throw new ModelshipError('BAD_INPUT', `${join(dir, 'metrics.json')}: ${parsed.problem}`)
    metrics = parsed.metrics
  }
  const modelId = modelIdFor(config.model.org, config.model.prefix, version)
  await registry.checkAccess()
  const labels = await readLabels(dir, config.model.labels)
  // The card depends only on the folder, so pushing the same folder again is a no-op, not a new commit.
  const madeAt = (await stat(join(dir, 'config.json'))).mtime.toISOString()
  // No absolute local paths leave the machine; the card claims only what the trainer recorded.
  const rewritten = await withoutAbsolutePathFiles(dir, await listPushFiles(dir, config.trainer.exclude))
  if (rewritten.length) ws.print(`absolute local paths rewritten in the pushed ${rewritten.map((f) => f.path).join(', ')}`)
  const card = renderModelCard({
    modelId,
    origin: await readTrainingOrigin(dir),
    license: config.model.license,
    labels,
    metrics: metrics ?? { accuracy: 0, f1_macro: 0, per_class: {} },
    datasetSha256: 'unknown',
    runId: 'manual push',
    createdAt: madeAt,
    ...(metrics ? {} : { metricsUnknown: true }),
  })
  let lastFile = ''
  const pushed = await registry.push({
    modelId,
    dir,
    exclude: config.trainer.exclude,
    extraFiles: [
      ...rewritten,
      ...((await stat(join(dir, 'README.md')).then(() => true, () => false)) ? [] : [{ path: 'README.md', content: card }]),
    ],
    commitMessage: `modelship push: ${modelId}`,
    onProgress: (p) => {
      if (p.bytes === p.total && p.file !== lastFile) {
        lastFile = p.file
        ws.print(`${p.phase} ${p.file}: ${p.total} bytes`)
      }
    },
  })
  ws.print(`pushed ${modelId} (${Object.keys(pushed.manifest).length} files, commit ${pushed.commit.slice(0, 12)}) to ${registry.describe()}`)
  if (flags.json) ws.printJson(pushed)
  return 0
}
