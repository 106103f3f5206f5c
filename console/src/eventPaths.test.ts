import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { eventPaths } from './eventPaths';

const dts = readFileSync(new URL('../../javy-shims/types/actions.d.ts', import.meta.url), 'utf8');

describe('the {} picker', () => {
  it('lists every event path of the declarations with its type', () => {
    const paths = eventPaths(dts, [{ name: 'claim', type: 'string' }]);
    const byPath = new Map(paths.map((p) => [p.path, p.type]));
    expect(byPath.get('event.user.email')).toBe('string | undefined');
    expect(byPath.get('event.user.id')).toBe('string');
    expect(byPath.get('event.request.country')).toBe('string | undefined');
    expect(byPath.get('event.client.id')).toBe('string');
    expect(byPath.get('event.config.claim')).toBe('string');
    expect(byPath.has('event.connection.strategy')).toBe(true);
    expect(paths.length).toBeGreaterThan(30);
  });

  it('lists the declared secrets under event.secrets', () => {
    const byPath = new Map(eventPaths(dts, [], ['API_KEY']).map((p) => [p.path, p.type]));
    expect(byPath.get('event.secrets')).toBe('the secrets it declares');
    expect(byPath.get('event.secrets.API_KEY')).toBe('string (secret)');
  });
});
