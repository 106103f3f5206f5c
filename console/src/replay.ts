// What the Replay button of a run's page says about the replay's answer.
import { DECISIONS } from './components/RunResult';

/** The parts of a ReplayRunResponse the summary reads (structural, so it is testable without the generated code). */
type Answer = {
  identical: boolean;
  differences: readonly unknown[];
  recorded?: { decision: number; bindings: readonly { logs: readonly unknown[] }[] };
  replayed?: { decision: number; bindings: readonly { logs: readonly unknown[] }[] };
};

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The one line that says how the replay went: identical, or how many differences. */
export function replaySummary(answer: Answer): string {
  if (answer.identical) {
    const run = answer.replayed ?? answer.recorded;
    const decision = (run && DECISIONS[run.decision]) ?? 'none';
    const logs = run?.bindings.reduce((n, b) => n + b.logs.length, 0) ?? 0;
    const lines = logs === 0 ? 'no log lines' : plural(logs, 'log line', 'log lines');
    return `Replayed: identical — decision ${decision}, same claims, metadata and ${lines}`;
  }
  const n = answer.differences.length;
  if (n === 0) return 'Replayed: not identical, though the server listed no difference';
  return `Replayed: ${plural(n, 'difference', 'differences')}; the first is where the runs part`;
}

/** A side of a difference as shown: its JSON text, or “(absent)” when that side has none. */
export const sideOf = (json: string) => json || '(absent)';
