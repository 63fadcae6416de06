import { describe, expect, it } from 'vitest'
import { defaultConfig } from '../pipeline/config/config.js'
import { envLayer } from '../pipeline/config/layers.js'
import { validateConfig } from '../pipeline/config/validate.js'
import { planLine } from '../pipeline/engine/plan.js'
import { pathOf } from '../pipeline/github/api.js'
import { dispatchRequest, getVariableRequest } from '../pipeline/github/requests.js'
import { githubConfigOf, type GithubSettings, repoOfRemote } from '../pipeline/github/settings.js'
import { apiPlanEntry } from '../pipeline/ports/dry-run.js'

const validate = (file: Record<string, unknown>, env: Record<string, string> = {}) =>
  validateConfig(
    [{ origin: 'defaults', values: defaultConfig() }, { origin: 'modelship.yaml', values: file }, envLayer(env)],
    '/ws',
  )

const settings: GithubSettings = {
  envName: 'production',
  repo: 'acme/app',
  owner: 'acme',
  name: 'app',
  variable: 'HF_INTENT_MODEL',
  environment: undefined,
  workflow: 'deploy-production.yml',
  ref: 'master',
  trigger: 'dispatch',
  inputs: {},
  timeoutS: 3600,
  apiUrl: 'https://api.github.com',
}

describe('deploy.github config', () => {
  it('takes the keys, an environment overrides some of them, GITHUB_API_URL sets api_url', () => {
    const { config, errors } = validate(
      {
        deploy: { mode: 'github', github: { repo: 'acme/app', workflow: 'deploy-production.yml', ref: 'master' } },
        environments: {
          production: { compose: ['docker-compose.yml'] },
          qa: { compose: ['docker-compose.yml'], github: { workflow: 'deploy-qa.yml', scope: 'environment:qa' } },
        },
      },
      { GITHUB_API_URL: 'https://ghe.acme.example/api/v3/' },
    )
    expect(errors).toEqual([])
    expect(config.deploy.mode).toBe('github')
    expect(githubConfigOf(config, 'production')).toMatchObject({
      workflow: 'deploy-production.yml',
      scope: 'repository',
    })
    expect(githubConfigOf(config, 'qa')).toMatchObject({
      repo: 'acme/app',
      workflow: 'deploy-qa.yml',
      scope: 'environment:qa',
      ref: 'master',
      trigger: 'dispatch',
      timeout_s: 3600,
      api_url: 'https://ghe.acme.example/api/v3',
    })
  })

  it('refuses unknown keys and bad values, naming each key', () => {
    const { errors } = validate({
      deploy: {
        mode: 'github',
        github: { repo: 'acme', scope: 'org', trigger: 'webhook', timeout_s: 0, workflow: '../x.yml', worklfow: 'a' },
      },
    })
    expect(errors.join('\n')).toMatch(/deploy\.github\.worklfow: unknown key \(did you mean workflow\?\)/)
    expect(errors.join('\n')).toMatch(/deploy\.github\.repo \(modelship\.yaml\): expected owner\/name/)
    expect(errors.join('\n')).toMatch(/deploy\.github\.scope .*repository or environment:/)
    expect(errors.join('\n')).toMatch(/deploy\.github\.trigger .*dispatch or push/)
    expect(errors.join('\n')).toMatch(/deploy\.github\.timeout_s .*from 1 to 86400, got number 0/)
    expect(errors.join('\n')).toMatch(/deploy\.github\.workflow .*a workflow file name/)
  })

  it('reads owner/name from the usual remote URL forms', () => {
    expect(repoOfRemote('https://github.com/acme/app.git')).toBe('acme/app')
    expect(repoOfRemote('git@github.com:acme/app.git\n')).toBe('acme/app')
    expect(repoOfRemote('ssh://git@ghe.acme.example:2222/acme/app')).toBe('acme/app')
    expect(repoOfRemote('/srv/git/app.git')).toBeUndefined()
  })

  it('builds paths with each parameter encoded, and plan lines with the body and the workflow a write starts', () => {
    expect(pathOf(getVariableRequest({ ...settings, environment: 'prod/eu' }))).toBe(
      '/repos/acme/app/environments/prod%2Feu/variables/HF_INTENT_MODEL',
    )
    expect(planLine(apiPlanEntry(dispatchRequest(settings, 'master')))).toBe(
      '! POST /repos/acme/app/actions/workflows/deploy-production.yml/dispatches ' +
        '{"ref":"master","inputs":{},"return_run_details":true}  # starts workflow deploy-production.yml on master',
    )
  })
})
