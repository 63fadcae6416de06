import { describe, expect, it } from 'vitest'
import { createRedactor, redactDeep, redactorForEnv } from '../pipeline/secrets/redact.js'

describe('redaction', () => {
  it('masks known values, URL passwords, bearer tokens and hf_ tokens', () => {
    const r = redactorForEnv({
      HF_TOKEN: 'hf_secretvalue123',
      DATABASE_URL: 'postgres://u:p%40ss@db/x',
      FEEDBACK_API_TOKEN: 'tok-abc-123',
    })
    expect(r('token hf_secretvalue123 and tok-abc-123')).toBe('token *** and ***')
    expect(r('connect postgres://u:p%40ss@db/x failed; password p@ss')).toBe('connect *** failed; password ***')
    expect(r('connect postgres://u:p%40ss@db2/y')).toBe('connect postgres://u:***@db2/y')
    expect(r('Authorization: Bearer abc.def')).toBe('Authorization: Bearer ***')
    expect(r('unknown hf_AbCdEf0123456789 leaked')).toBe('unknown *** leaked')
    expect(r('https://user:pw123@host/path')).toBe('https://user:***@host/path')
  })

  it('redacts deeply, keeping structure', () => {
    const r = createRedactor(['s3cr3t!'])
    expect(redactDeep({ a: ['x s3cr3t! y', 1, null], b: { c: 's3cr3t!' } }, r)).toEqual({
      a: ['x *** y', 1, null],
      b: { c: '***' },
    })
  })
})

describe('the hf_ token pattern', () => {
  it('masks an unknown token but not a config key that merely starts with hf_', async () => {
    const { createRedactor } = await import('../pipeline/secrets/redact.js')
    const redact = createRedactor([])
    expect(redact('invalid configuration: hf_endpoint (environment): not a URL')).toBe(
      'invalid configuration: hf_endpoint (environment): not a URL',
    )
    expect(redact('token hf_AbCdEf0123456789xyz leaked')).not.toContain('hf_AbCdEf0123456789xyz')
  })
})
