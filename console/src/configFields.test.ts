import { describe, expect, it } from 'vitest';
import { configDefaults, fieldProblems } from './configFields';

const schema = JSON.stringify({
  type: 'object',
  required: ['allowed_domains'],
  properties: { allowed_domains: { type: 'array', items: { type: 'string' } }, retries: { type: 'integer', default: 3 } },
});

describe('the generated config form', () => {
  it('starts from the defaults of the schema', () => {
    expect(JSON.parse(configDefaults(schema))).toEqual({ retries: 3 });
    expect(configDefaults('not json')).toBe('{}');
  });

  it("puts each of the server's problems at its field", () => {
    const message =
      'action "domain-allowlist": the config does not match the config schema of version 0.1.0: ' +
      '/: "allowed_domains" is a required property; /retries: "x" is not of type "integer"; /other: nope';
    expect(fieldProblems(message, ['allowed_domains', 'retries'])).toEqual({
      allowed_domains: 'required: enter a value',
      retries: '"x" is not of type "integer"',
      '': 'nope',
    });
    expect(fieldProblems('action "x" has no published version', ['a'])).toEqual({ '': 'action "x" has no published version' });
  });
});
