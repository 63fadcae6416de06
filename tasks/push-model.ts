import type { Ctx } from '../pipeline/context.js'
import { need } from '../pipeline/context.js'
import type { Deps } from '../pipeline/deps.js'
import { renderModelCard } from '../pipeline/registry/model-card.js'
import type { StepFactory } from './types.js'

const MiB = 1024 * 1024
const size = (bytes: number): string => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`)

export const pushModel: StepFactory = (deps: Deps) => ({
  title: 'Push model to registry',
  task: async (ctx: Ctx, task) => {
    const model = need(ctx, 'model')
    const release = need(ctx, 'release')
    const dataset = need(ctx, 'dataset')
    const card = renderModelCard({
      modelId: release.modelId,
      baseModel: deps.config.model.base_model,
      labels: model.labels,
      metrics: model.metrics,
      datasetSha256: dataset.sha256,
      runId: ctx.runId,
      createdAt: ctx.startedAt,
    })
    let lastShown = 0
    const pushed = await deps.registry.push({
      modelId: release.modelId,
      dir: model.dir,
      extraFiles: [{ path: 'README.md', content: card }],
      commitMessage: `modelship: ${release.modelId} (run ${ctx.runId})`,
      ...(ctx.pushed?.modelId === release.modelId ? { replaces: ctx.pushed } : {}),
      signal: ctx.signal,
      onProgress: (p) => {
        // Progress events can come per chunk; redraw at most every 50 ms.
        const now = Date.now()
        if (now - lastShown < 50 && p.bytes < p.total) return
        lastShown = now
        task.output = `${p.phase} ${p.file}: ${size(p.bytes)} / ${size(p.total)}`
      },
    })
    ctx.pushed = pushed
    const bytes = Object.values(pushed.manifest).reduce((n, f) => n + f.size, 0)
    task.title = `Pushed ${release.modelId} (${Object.keys(pushed.manifest).length} files, ${size(bytes)}, commit ${pushed.commit.slice(0, 12)}) to ${deps.registry.describe()}`
  },
})
