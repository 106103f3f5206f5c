import { describe, expect, it } from 'vitest';
import { lineDiff, prettyJson } from './lineDiff';

describe('the audit diff', () => {
  it('keeps common lines and marks what was removed and added', () => {
    const before = prettyJson({ allowed_domains: ['acme.com'], mode: 'strict' });
    const after = prettyJson({ mode: 'strict', allowed_domains: ['acme.com', 'acme.org'] });
    const changed = lineDiff(before, after).filter((l) => l.kind !== 'same');
    expect(changed).toEqual([
      { kind: 'removed', text: '    "acme.com"' },
      { kind: 'added', text: '    "acme.com",' },
      { kind: 'added', text: '    "acme.org"' },
    ]);
  });

  it('shows no change for equal values whatever their key order', () => {
    expect(lineDiff(prettyJson({ a: 1, b: 2 }), prettyJson({ b: 2, a: 1 })).every((l) => l.kind === 'same')).toBe(true);
  });
});
