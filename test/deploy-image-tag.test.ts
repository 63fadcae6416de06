import { describe, expect, it } from 'vitest'
import { checkServiceImage, imageUsesTagVar } from '../pipeline/deploy/image-check.js'
import {
  DEFAULT_IMAGE_TAG,
  DEFAULT_TAG_VAR,
  renderImageTag,
  validateImageTagTemplate,
} from '../pipeline/deploy/image-tag.js'

describe('deploy.image_tag template', () => {
  it('renders {version} as v<major>.<minor>, {run} and {sha}', () => {
    expect(DEFAULT_IMAGE_TAG).toBe('model-{version}')
    expect(renderImageTag(DEFAULT_IMAGE_TAG, { version: '1.3' })).toBe('model-v1.3')
    expect(renderImageTag(DEFAULT_IMAGE_TAG, { version: 'v12.0' })).toBe('model-v12.0')
    expect(
      renderImageTag('{version}-{sha}-{run}', { version: '2.1', sha: '9f8e7d6', run: '20250301-101500-ab12' }),
    ).toBe('v2.1-9f8e7d6-20250301-101500-ab12')
    expect(renderImageTag('stable', { version: '1.0' })).toBe('stable')
  })

  it('{sha} outside a git repository is a CONFIG error that says so', () => {
    const render = () => renderImageTag('model-{version}-{sha}', { version: '1.3' })
    expect(render).toThrow(
      'deploy.image_tag: "model-{version}-{sha}" uses {sha}, but the workspace is not a git repository',
    )
    expect(render).toThrow(expect.objectContaining({ code: 'CONFIG' }))
  })

  it('rejects unknown placeholders, invalid tags and bad versions', () => {
    expect(() => renderImageTag('model-{ver}', { version: '1.3' })).toThrow(/unknown placeholder \{ver\}/)
    expect(() => renderImageTag('model:{version}', { version: '1.3' })).toThrow(/"model:v1.3" is not a valid image tag/)
    expect(() => renderImageTag('.{version}', { version: '1.3' })).toThrow(/not a valid image tag/)
    expect(() => renderImageTag(`${'x'.repeat(125)}{version}`, { version: '1.3' })).toThrow(/not a valid image tag/)
    expect(() => renderImageTag(DEFAULT_IMAGE_TAG, { version: '1.3.0' })).toThrow(
      expect.objectContaining({ code: 'BAD_INPUT' }),
    )
  })

  it('validates a template from config without a release', () => {
    expect(validateImageTagTemplate('model-{version}-{run}')).toBe('model-{version}-{run}')
    expect(() => validateImageTagTemplate(7)).toThrow(
      /^deploy.image_tag: expected a tag template such as "model-\{version\}"$/,
    )
    expect(() => validateImageTagTemplate('')).toThrow(/expected a tag template/)
    expect(() => validateImageTagTemplate('a b {version}')).toThrow(/is not a valid image tag/)
    expect(() => validateImageTagTemplate('{Version}', 'environments.qa.image_tag')).toThrow(
      /^environments.qa.image_tag: unknown placeholder/,
    )
  })
})

describe('image: uses the tag variable', () => {
  it.each([
    ['ghcr.io/o/app:${IMAGE_TAG:-latest}', true],
    ['ghcr.io/o/app:${IMAGE_TAG}', true],
    ['ghcr.io/o/app:${IMAGE_TAG-latest}', true],
    ['ghcr.io/o/app:${IMAGE_TAG:?set IMAGE_TAG}', true],
    ['ghcr.io/o/app:${IMAGE_TAG?}', true],
    ['ghcr.io/o/app:$IMAGE_TAG', true],
    ['${REGISTRY}/app:${IMAGE_TAG:-latest}', true],
    ['ghcr.io/o/app:latest', false],
    ['ghcr.io/o/app:$${IMAGE_TAG}', false],
    ['ghcr.io/o/app:${IMAGE_TAG:+x}', false],
    ['ghcr.io/o/app:${IMAGE_TAGS:-x}', false],
    ['ghcr.io/o/app:$IMAGE_TAGS', false],
    ['ghcr.io/o/app:${APP_TAG:-latest}', false],
  ])('%s → %s', (image, expected) => {
    expect(imageUsesTagVar(image, DEFAULT_TAG_VAR)).toBe(expected)
  })

  const base = {
    path: 'docker-compose.yml',
    text: 'services:\n  app:\n    build: .\n    image: ghcr.io/o/app:latest\n  db:\n    image: postgres\n',
  }
  const prod = {
    path: 'docker-compose.production.yml',
    text: '# prod\nservices:\n  app:\n    image: "ghcr.io/o/app:${IMAGE_TAG:-latest}"\n',
  }

  it('the last compose file that sets the image wins, and its line is named', () => {
    expect(checkServiceImage({ files: [base, prod], service: 'app', tagVar: 'IMAGE_TAG' })).toEqual({
      ok: true,
      image: 'ghcr.io/o/app:${IMAGE_TAG:-latest}',
      path: 'docker-compose.production.yml',
      line: 4,
    })
    expect(checkServiceImage({ files: [prod, base], service: 'app', tagVar: 'IMAGE_TAG' })).toEqual({
      ok: false,
      path: 'docker-compose.yml',
      line: 4,
      message: 'docker-compose.yml:4: services.app.image "ghcr.io/o/app:latest" does not use ${IMAGE_TAG}',
      fix: 'image: ghcr.io/<org>/<app>:${IMAGE_TAG:-latest}',
    })
  })

  it('a custom tag_var, a service without image:, a non-string image and broken YAML', () => {
    expect(checkServiceImage({ files: [prod], service: 'app', tagVar: 'APP_TAG' })).toMatchObject({
      ok: false,
      fix: 'image: ghcr.io/<org>/<app>:${APP_TAG:-latest}',
    })
    expect(
      checkServiceImage({
        files: [{ path: 'c.yml', text: 'services:\n  app:\n    build: .\n' }],
        service: 'app',
        tagVar: 'IMAGE_TAG',
      }),
    ).toEqual({
      ok: false,
      message: 'services.app has no image: in c.yml',
      fix: 'add image: ghcr.io/<org>/<app>:${IMAGE_TAG:-latest} to services.app',
    })
    expect(
      checkServiceImage({
        files: [{ path: 'c.yml', text: 'services:\n  app:\n    image: [a]\n' }],
        service: 'app',
        tagVar: 'IMAGE_TAG',
      }),
    ).toMatchObject({
      ok: false,
      line: 3,
      message: 'c.yml:3: services.app.image is not a string',
    })
    expect(
      checkServiceImage({
        files: [{ path: 'c.yml', text: 'services:\n  app: [\n' }],
        service: 'app',
        tagVar: 'IMAGE_TAG',
      }),
    ).toMatchObject({
      ok: false,
      path: 'c.yml',
      message: expect.stringMatching(/^c\.yml:\d+: not valid YAML$/),
    })
  })

  it('reads files with compose tags (!override, !reset) and CRLF', () => {
    const crlf = {
      path: 'p.yml',
      text:
        'services:\r\n  app:\r\n    build: !override\r\n      context: .\r\n    ports: !reset []\r\n    image: ' +
        'ghcr.io/o/app:${IMAGE_TAG}\r\n',
    }
    expect(checkServiceImage({ files: [crlf], service: 'app', tagVar: 'IMAGE_TAG' })).toMatchObject({
      ok: true,
      line: 6,
    })
  })
})
