import { create, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { ACTIONS_D_TS } from './starters';
import { PreconditionFailureSchema, declarationProblems, declaredNames, testSecrets, secretNameProblem, secretsDeclarations, unsetSecrets, valueProblem } from './secrets';

describe('secret names', () => {
  it('takes 1 to 64 letters, digits and _, not starting with a digit', () => {
    for (const ok of ['A', '_', 'API_KEY', 'apiKey2', '_1', 'x'.repeat(64)]) expect(secretNameProblem(ok), ok).toBeUndefined();
    for (const bad of ['', '1KEY', 'API-KEY', 'api key', 'ключ', 'x'.repeat(65), 'a.b']) expect(secretNameProblem(bad), bad).toBeDefined();
  });

  it('finds bad and repeated names by row, and too many', () => {
    expect(declarationProblems([{ name: 'A', description: '' }, { name: '9', description: '' }, { name: 'A', description: 'again' }])).toEqual({
      1: 'A name may not start with a digit.',
      2: '"A" is declared twice.',
    });
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `S${i}`, description: '' }));
    expect(declarationProblems(many)[-1]).toContain('at most 20');
    expect(declarationProblems(many.slice(1))).toEqual({});
  });

  it('checks a value is there and at most 4096 bytes', () => {
    expect(valueProblem('')).toBeDefined();
    expect(valueProblem('abc12')).toContain('At least 6');
    expect(valueProblem('abc123')).toBeUndefined();
    expect(valueProblem('x'.repeat(4096))).toBeUndefined();
    expect(valueProblem('é'.repeat(2049))).toContain('4098');
  });
});

describe('test values', () => {
  it('sends those typed for a declared secret, and names each valid one once', () => {
    expect(testSecrets({ A: 'x', B: '', C: 'y' }, ['A', 'B'])).toEqual({ A: 'x' });
    expect(declaredNames([{ name: 'A', description: '' }, { name: '1x', description: '' }, { name: 'A', description: '' }, { name: 'B', description: '' }])).toEqual([
      'A',
      'B',
    ]);
  });
});

describe('the type of event.secrets in the editor', () => {
  it('lists the declared names, once each', () => {
    const dts = secretsDeclarations(ACTIONS_D_TS, [
      { name: 'API_KEY', description: 'the webhook key */ oops' },
      { name: 'bad-name', description: '' },
      { name: 'API_KEY', description: '' },
      { name: 'OTHER', description: '' },
    ]);
    expect(dts).toContain('readonly secrets: { /** the webhook key * / oops */ readonly API_KEY: string; readonly OTHER: string; };');
    expect(dts).not.toContain('[key: string]: string };\n}');
  });

  it('stays open with nothing declared', () => {
    expect(secretsDeclarations(ACTIONS_D_TS, [])).toBe(ACTIONS_D_TS);
    expect(ACTIONS_D_TS).toContain('readonly secrets: Secrets;');
  });
});

describe('a publish refused for unset secrets', () => {
  const refusal = (violations: { type: string; subject: string; description: string }[], code = Code.FailedPrecondition) =>
    new ConnectError('version 0.1.0 reads secrets with no value: API_KEY, TOKEN', code, undefined, [
      { desc: PreconditionFailureSchema, value: create(PreconditionFailureSchema, { violations } as never) },
    ]);

  it('names them from the PreconditionFailure detail', () => {
    const error = refusal([
      { type: 'SECRET_NOT_SET', subject: 'API_KEY', description: 'no value' },
      { type: 'OTHER', subject: 'x', description: '' },
      { type: 'SECRET_NOT_SET', subject: 'TOKEN', description: 'no value' },
    ]);
    expect(unsetSecrets(error)).toEqual(['API_KEY', 'TOKEN']);
    // As it comes off the wire: the detail as bytes with its type name.
    const wire = new ConnectError('refused', Code.FailedPrecondition, undefined, [
      {
        type: 'google.rpc.PreconditionFailure',
        value: toBinary(PreconditionFailureSchema, create(PreconditionFailureSchema, { violations: [{ type: 'SECRET_NOT_SET', subject: 'K', description: '' }] } as never)),
      },
    ] as never);
    expect(unsetSecrets(wire)).toEqual(['K']);
  });

  it('names none for other refusals', () => {
    expect(unsetSecrets(refusal([{ type: 'SECRET_NOT_SET', subject: 'A', description: '' }], Code.InvalidArgument))).toEqual([]);
    expect(unsetSecrets(new ConnectError('the live version reads it', Code.FailedPrecondition))).toEqual([]);
    expect(unsetSecrets(new Error('network'))).toEqual([]);
  });
});
