import type { Finding } from './finding.js'
import { ok } from './finding.js'
import { type Instruction, mountOptions, parseDockerfile, runFlags } from './dockerfile-parse.js'

// The Dockerfile traps that make a release ship the old model while every step reports success:
// the download step cannot read the token, hides its failure, or the build arg never reaches it or the process.

export const SECRET_ID = 'hf_token'
const SECRET_RUN = `RUN --mount=type=secret,id=${SECRET_ID},required=false`
const DOWNLOAD_WORDS = /snapshot_download|hf_hub_download|from_pretrained|huggingface-cli\s+download|\bhf\s+download/

// Failure swallowing as shells write it; `2>/dev/null` alone hides the error message a failed download prints.
const SWALLOW =
  /\|\|\s*(?:true\b|exit\s+0\b|:(?=[\s;)]|$))|(?:2|&)>\s*\/dev\/null|>\s*\/dev\/null\s+2>&1|\bset\s+\+e\b/g
// Where the command that a `|| true` or `2>/dev/null` belongs to starts.
const COMMAND_START =
  /(?:;|&&|\|\||\n|\$\(|`|\bthen\b|\belse\b|\bdo\b)(?![\s\S]*(?:;|&&|\|\||\n|\$\(|`|\bthen\b|\belse\b|\bdo\b))/

export interface DockerfileInput {
  /** Workspace-relative path (for messages). */
  path: string
  text: string
  /** deploy.build_arg, e.g. HF_INTENT_MODEL. */
  buildArg: string
  /** The service's runtime `environment` sets the variable in one of the environment's compose files. */
  composeSetsRuntimeEnv: boolean
  /** Pushed models are private (registry hf): a step that cannot read the token cannot download them. */
  privateModels: boolean
}

interface Stage {
  name: string | undefined
  from: string
  args: Set<string>
  envs: Instruction[]
  instructions: Instruction[]
}

function stagesOf(instructions: readonly Instruction[]): { globalArgs: Set<string>; stages: Stage[] } {
  const globalArgs = new Set<string>()
  const stages: Stage[] = []
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(ins.body.trim())
      stages.push({
        name: m?.[2]?.toLowerCase(),
        from: (m?.[1] ?? '').toLowerCase(),
        args: new Set(),
        envs: [],
        instructions: [],
      })
      continue
    }
    const stage = stages.at(-1)
    if (ins.keyword === 'ARG') {
      for (const m of ins.body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=\S*)?/g)) (stage?.args ?? globalArgs).add(m[1]!)
    }
    if (!stage) continue
    if (ins.keyword === 'ENV') stage.envs.push(ins)
    stage.instructions.push(ins)
  }
  return { globalArgs, stages }
}

/** The final stage and the stages it is built FROM, nearest first: what the running container inherits. */
function runtimeChain(stages: readonly Stage[]): Stage[] {
  const chain: Stage[] = []
  let stage = stages.at(-1)
  while (stage && !chain.includes(stage)) {
    chain.push(stage)
    const parent = stage.from
    stage = stages.find((s) => s.name === parent)
  }
  return chain
}

const mentions = (text: string, variable: string): boolean =>
  new RegExp(`\\$\\{?${variable}\\b|['"]${variable}['"]`).test(text)

/** Does the ENV instruction set `variable` from the build arg (`ENV V=$V`, `ENV V=${V}`, `ENV V $V`)? */
function envFromArg(ins: Instruction, variable: string): boolean {
  return new RegExp(`(?:^|\\s)${variable}(?:=|\\s+)["']?\\$\\{?${variable}\\b`).test(ins.body)
}

/** Every construct in the command that hides a failure, in order (a quiet read of a secret file excepted). */
function swallowedIn(command: string): string[] {
  const out: string[] = []
  for (const m of command.matchAll(SWALLOW)) {
    const before = command.slice(0, m.index)
    const start = COMMAND_START.exec(before)
    const segment = start ? before.slice(start.index + start[0].length) : before
    // Reading an optional secret quietly is fine: `$(cat /run/secrets/hf_token 2>/dev/null)`.
    if (/\/run\/secrets\/|\[\s+-[fes]\s|\btest\s+-[fes]\s/.test(segment)) continue
    out.push(m[0].trim())
  }
  return out
}

/** Does the RUN mount the hf_token secret and read it (the file, or the env= the mount sets)? */
function readsSecret(ins: Instruction): { mounted: boolean; read: boolean } {
  const { flags, command } = runFlags(ins.body)
  for (const flag of flags.filter((f) => f.startsWith('--mount='))) {
    const o = mountOptions(flag)
    if (o.type !== 'secret' || (o.id ?? o.source ?? o.src) !== SECRET_ID) continue
    if (o.env) return { mounted: true, read: true }
    const target = o.target ?? o.dst ?? `/run/secrets/${SECRET_ID}`
    return { mounted: true, read: command.includes(target) }
  }
  return { mounted: false, read: false }
}

/**
 * The build arg through which modelship hands a model's files to the build when they come from its local
 * registry: the name of an image holding them at `/` (`scratch`, an empty one, otherwise). The Dockerfile
 * declares it before the first FROM and builds a stage FROM it, which the download step mounts or copies.
 */
export const MODEL_FILES_ARG = 'MODELSHIP_MODEL_FILES'

/** Does the Dockerfile take the model's files as an image (`ARG MODELSHIP_MODEL_FILES` … `FROM ${…}`)? */
export function receivesModelFiles(text: string): boolean {
  const { globalArgs, stages } = stagesOf(parseDockerfile(text))
  return globalArgs.has(MODEL_FILES_ARG) && stages.some((s) => mentions(s.from, MODEL_FILES_ARG.toLowerCase()))
}

/** registry: local — can the build receive the released files? (what to add when it cannot) */
export function checkModelFiles(o: { path: string; text: string; buildArg: string }): Finding {
  if (receivesModelFiles(o.text)) {
    return ok(
      'dockerfile.model_files',
      `the build receives the local registry's model files (ARG ${MODEL_FILES_ARG})`,
      {
        file: o.path,
      },
    )
  }
  return {
    check: 'dockerfile.model_files',
    // A warning: such a build fails (the model is nowhere to download from) rather than ship the wrong one.
    level: 'warn',
    file: o.path,
    message:
      `registry is local, but the Dockerfile cannot receive the released model's files (no ARG ${MODEL_FILES_ARG} ` +
      `used in a FROM): the build cannot fetch ${o.buildArg} from anywhere`,
    fix:
      `before the first FROM add "ARG ${MODEL_FILES_ARG}=scratch" and "FROM \${${MODEL_FILES_ARG}} AS model-files"; ` +
      'in the download step add --mount=type=bind,from=model-files,target=/model-files and use the files there ' +
      'when it is not empty (modelship passes an image holding them as --build-arg)',
  }
}

export function checkDockerfile(input: DockerfileInput): Finding[] {
  const { path: file, buildArg, privateModels } = input
  const { globalArgs, stages } = stagesOf(parseDockerfile(input.text))
  const findings: Finding[] = []
  const downloads = stages.flatMap((stage) =>
    stage.instructions
      .filter((i) => i.keyword === 'RUN' && (mentions(i.body, buildArg) || DOWNLOAD_WORDS.test(i.body)))
      .map((ins) => ({ ins, stage })),
  )
  const declared = stages.some((s) => s.args.has(buildArg))
  if (!declared) {
    const global = globalArgs.has(buildArg) ? ` (the ARG before FROM is visible only to FROM lines)` : ''
    findings.push({
      check: 'dockerfile.arg',
      level: 'error',
      file,
      message:
        `no ARG ${buildArg} in a build stage${global}: --build-arg ${buildArg}=<model> is ignored and the ` +
        `image keeps the old model`,
      fix: `ARG ${buildArg}=mdeberta after the FROM of the stage that downloads the model`,
    })
  }

  if (downloads.length === 0) {
    findings.push({
      check: 'dockerfile.download',
      level: 'warn',
      file,
      message: `no RUN step reads ${buildArg} or downloads a model: the image does not hold the model it is built for`,
      fix:
        `${SECRET_RUN} HF_TOKEN="$(cat /run/secrets/${SECRET_ID})" python -c ` +
        `"…snapshot_download(os.environ['${buildArg}'], …)"`,
    })
  }
  const hard = privateModels ? 'error' : 'warn'
  for (const { ins, stage } of downloads) {
    const at = { file, line: ins.line }
    const secret = readsSecret(ins)
    if (!secret.read) {
      findings.push({
        check: 'dockerfile.secret',
        level: hard,
        ...at,
        message:
          `the download step ${secret.mounted ? 'mounts but never reads' : 'does not read'} the build secret ` +
          `${SECRET_ID}` +
          (privateModels ? ': the pushed models are private, so the download fails without the token' : ''),
        fix: `${SECRET_RUN} \\ HF_TOKEN="$(cat /run/secrets/${SECRET_ID})" <download command>`,
      })
    } else findings.push(ok('dockerfile.secret', `the download step reads the build secret ${SECRET_ID}`, at))
    const swallowed = swallowedIn(runFlags(ins.body).command).join(', ')
    if (swallowed) {
      findings.push({
        check: 'dockerfile.swallow',
        level: hard,
        ...at,
        message:
          `the download step swallows failures (${swallowed}): a failed download still builds an image, ` +
          `without the new model`,
        fix: `remove ${swallowed} from the download command so a failed download fails the build`,
      })
    } else findings.push(ok('dockerfile.swallow', 'the download step fails the build when the download fails', at))
    if (declared && !stage.args.has(buildArg) && mentions(ins.body, buildArg)) {
      findings.push({
        check: 'dockerfile.arg',
        level: 'error',
        ...at,
        message:
          `the download step reads ${buildArg}, but its stage declares no ARG ${buildArg}: ` + 'it sees an empty value',
        fix: `ARG ${buildArg} after this stage's FROM`,
      })
    }
  }

  if (declared) {
    const env = runtimeChain(stages)
      .flatMap((s) => s.envs)
      .find((e) => envFromArg(e, buildArg))
    if (env)
      findings.push(ok('runtime.env', `ENV ${buildArg} exposes the build arg to the process`, { file, line: env.line }))
    else if (input.composeSetsRuntimeEnv) {
      findings.push(ok('runtime.env', `the service's compose environment sets ${buildArg} for the process`, { file }))
    } else {
      findings.push({
        check: 'runtime.env',
        level: 'warn',
        file,
        message:
          `ARG ${buildArg} never reaches the running process (no ENV ${buildArg} in the final stage, ` +
          'no compose environment entry): the app cannot tell which model the image holds',
        fix: `ENV ${buildArg}=$${buildArg} after the ARG in the final stage`,
      })
    }
  }
  return findings
}
