import { describe, expect, it } from 'vitest';
import { replaySummary, sideOf } from './replay';

const run = (decision: number, logs: number[]) => ({ decision, bindings: logs.map((n) => ({ logs: Array.from({ length: n }) })) });

describe('replaySummary', () => {
  it('says identical, with the decision and the log lines of every binding', () => {
    const r = run(1, [2, 1]);
    expect(replaySummary({ identical: true, differences: [], recorded: r, replayed: r })).toBe(
      'Replayed: identical — decision allow, same claims, metadata and 3 log lines',
    );
  });

  it('says one log line, and no log lines', () => {
    expect(replaySummary({ identical: true, differences: [], replayed: run(2, [1]) })).toBe(
      'Replayed: identical — decision deny, same claims, metadata and 1 log line',
    );
    expect(replaySummary({ identical: true, differences: [], replayed: run(1, []) })).toBe(
      'Replayed: identical — decision allow, same claims, metadata and no log lines',
    );
  });

  it('counts the differences', () => {
    expect(replaySummary({ identical: false, differences: [{}, {}] })).toBe(
      'Replayed: 2 differences; the first is where the runs part',
    );
    expect(replaySummary({ identical: false, differences: [{}] })).toBe('Replayed: 1 difference; the first is where the runs part');
  });
});

describe('sideOf', () => {
  it('shows an absent side as (absent)', () => {
    expect(sideOf('')).toBe('(absent)');
    expect(sideOf('"gold"')).toBe('"gold"');
  });
});
