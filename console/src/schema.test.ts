import { describe, expect, it } from 'vitest';
import { fromJsonSchema, modelProblems, newField, toJsonSchema, type SchemaModel } from './schema';

const model = (text: string): SchemaModel => {
  const m = fromJsonSchema(text);
  if ('problem' in m) throw new Error(m.problem);
  return m;
};

describe('the schema builder', () => {
  it('keeps the keywords it has no control for through a round trip', () => {
    const original = {
      type: 'object',
      required: ['webhook_url'],
      properties: {
        webhook_url: { type: 'string', format: 'uri', pattern: '^https?://' },
        timeout_ms: { type: 'integer', minimum: 100, maximum: 5000 },
        domains: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        tier: { type: 'string', enum: ['free', 'gold'], default: 'free', description: 'the tier' },
      },
      additionalProperties: false,
    };
    const m = model(JSON.stringify(original));
    expect(m.fields.map((f) => f.type)).toEqual(['string', 'integer', 'string-list', 'one-of']);
    expect(JSON.parse(toJsonSchema(m))).toEqual(original);
  });

  it('writes types, required, defaults and sets as JSON Schema', () => {
    const m = model('{}');
    m.fields.push({ ...newField('retries'), type: 'integer', required: true, defaultText: '3' });
    m.fields.push({ ...newField('mode'), type: 'one-of', options: ['a', 'b'], defaultText: 'b' });
    expect(JSON.parse(toJsonSchema(m))).toEqual({
      type: 'object',
      required: ['retries'],
      properties: {
        retries: { type: 'integer', default: 3 },
        mode: { type: 'string', enum: ['a', 'b'], default: 'b' },
      },
    });
  });

  it('names what is wrong before the server sees it', () => {
    const m = model('{}');
    m.fields.push({ ...newField('n'), type: 'integer', defaultText: '1.5' });
    m.fields.push({ ...newField('n') });
    expect(modelProblems(m)).toEqual(['default of n must be a whole number', 'two fields are named n']);
    expect(fromJsonSchema('[1]')).toEqual({ problem: 'the schema must be a JSON object' });
    expect('problem' in fromJsonSchema('{"type": "string"}')).toBe(true);
  });
});
