import { useCallback, useEffect, useState } from 'react';
import { explain, type ApiClients } from '../api';
import type { RunStats, RunStatsBucket } from '../gen/actions/controlplane/v1/management_pb';

const WIDTH = 720;
const HEIGHT = 160;
const PAD = 28;

const clock = (ms: bigint) => new Date(Number(ms)).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const percent = (part: bigint, whole: bigint) => (whole ? (Number(part) * 100) / Number(whole) : 0);

/** Bars of runs per bucket, the denied and failed part of each drawn over it. */
function RunsChart({ buckets }: { buckets: RunStatsBucket[] }) {
  const top = Math.max(1, ...buckets.map((b) => Number(b.runs)));
  const step = (WIDTH - PAD) / Math.max(1, buckets.length);
  const y = (n: bigint) => HEIGHT - PAD - ((HEIGHT - 2 * PAD) * Number(n)) / top;
  return (
    <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Runs per minute" data-testid="runs-chart" className="chart">
      <line x1={PAD} y1={HEIGHT - PAD} x2={WIDTH} y2={HEIGHT - PAD} className="axis" />
      <text x={2} y={PAD} className="tick">
        {top}
      </text>
      <text x={2} y={HEIGHT - PAD} className="tick">
        0
      </text>
      {buckets.map((b, i) => {
        const x = PAD + i * step;
        const w = Math.max(1, step - 1);
        return (
          <g key={String(b.startMs)} data-runs={String(b.runs)}>
            <title>{`${clock(b.startMs)}: ${b.runs} runs, ${b.denies} denied, ${b.errors} with errors`}</title>
            {b.runs > 0n && <rect x={x} y={y(b.runs)} width={w} height={HEIGHT - PAD - y(b.runs)} className="bar runs" />}
            {b.denies > 0n && <rect x={x} y={y(b.denies)} width={w} height={HEIGHT - PAD - y(b.denies)} className="bar denies" />}
            {b.errors > 0n && <rect x={x} y={y(b.errors)} width={w / 2} height={HEIGHT - PAD - y(b.errors)} className="bar errors" />}
          </g>
        );
      })}
      {buckets.length > 0 && (
        <>
          <text x={PAD} y={HEIGHT - 8} className="tick">
            {clock(buckets[0].startMs)}
          </text>
          <text x={WIDTH - 4} y={HEIGHT - 8} className="tick" textAnchor="end">
            {clock(buckets[buckets.length - 1].startMs)}
          </text>
        </>
      )}
    </svg>
  );
}

/** Deny and error rate per bucket (of its runs), as two lines; a bucket with no runs draws no point. */
function RatesChart({ buckets }: { buckets: RunStatsBucket[] }) {
  const step = (WIDTH - PAD) / Math.max(1, buckets.length);
  const y = (p: number) => HEIGHT - PAD - ((HEIGHT - 2 * PAD) * p) / 100;
  const line = (of: (b: RunStatsBucket) => bigint) =>
    buckets
      .map((b, i) => (b.runs > 0n ? `${PAD + i * step + step / 2},${y(percent(of(b), b.runs))}` : ''))
      .filter(Boolean)
      .join(' ');
  return (
    <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Deny and error rate" data-testid="rates-chart" className="chart">
      <line x1={PAD} y1={HEIGHT - PAD} x2={WIDTH} y2={HEIGHT - PAD} className="axis" />
      <text x={2} y={PAD} className="tick">
        100%
      </text>
      <text x={2} y={HEIGHT - PAD} className="tick">
        0%
      </text>
      <polyline points={line((b) => b.denies)} className="rate denies" />
      <polyline points={line((b) => b.errors)} className="rate errors" />
      {buckets.map((b, i) =>
        b.runs > 0n ? (
          <circle key={String(b.startMs)} cx={PAD + i * step + step / 2} cy={y(percent(b.denies, b.runs))} r={2.5} className="point denies">
            <title>{`${clock(b.startMs)}: ${percent(b.denies, b.runs).toFixed(0)}% denied, ${percent(b.errors, b.runs).toFixed(0)}% with errors`}</title>
          </circle>
        ) : null,
      )}
    </svg>
  );
}

/** p50 and p99 run time of each Action, as pairs of bars on one scale. */
function TimesChart({ stats }: { stats: RunStats }) {
  const row = 34;
  const label = 170;
  const top = Math.max(1, ...stats.actions.map((a) => Number(a.p99Us)));
  const w = (us: bigint) => ((WIDTH - label - 90) * Number(us)) / top;
  const height = Math.max(row, stats.actions.length * row) + 8;
  return (
    <svg viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label="Time per Action, p50 and p99" data-testid="times-chart" className="chart">
      {stats.actions.map((a, i) => (
        <g key={a.actionSlug} transform={`translate(0, ${i * row + 4})`} data-action={a.actionSlug}>
          <title>{`${a.actionSlug}: p50 ${(Number(a.p50Us) / 1000).toFixed(2)} ms, p99 ${(Number(a.p99Us) / 1000).toFixed(2)} ms over ${a.runs} runs`}</title>
          <text x={0} y={18} className="tick">
            {a.actionSlug}
          </text>
          <rect x={label} y={2} width={w(a.p99Us)} height={12} className="bar p99" />
          <rect x={label} y={16} width={w(a.p50Us)} height={12} className="bar p50" />
          <text x={label + w(a.p99Us) + 6} y={18} className="tick">
            {(Number(a.p99Us) / 1000).toFixed(1)} ms
          </text>
        </g>
      ))}
    </svg>
  );
}

/** The tenant's last hour: runs per minute, deny and error rate, and each Action's p50/p99 time. */
export function DashboardPage({ api }: { api: ApiClients }) {
  const [stats, setStats] = useState<RunStats>();
  const [problem, setProblem] = useState<string>();
  const load = useCallback(async () => {
    try {
      setStats(await api.audit.getRunStats({}));
      setProblem(undefined);
    } catch (error) {
      setProblem(explain(error));
    }
  }, [api]);
  useEffect(() => {
    void load();
    const every = window.setInterval(() => void load(), 10_000);
    return () => window.clearInterval(every);
  }, [load]);

  const total = stats?.buckets.reduce((n, b) => n + b.runs, 0n) ?? 0n;
  const denies = stats?.buckets.reduce((n, b) => n + b.denies, 0n) ?? 0n;
  const errors = stats?.buckets.reduce((n, b) => n + b.errors, 0n) ?? 0n;
  return (
    <section aria-labelledby="dashboard-title">
      <div className="page-head">
        <h1 id="dashboard-title">Dashboard</h1>
        <span className="help">The last hour, per minute; test runs left out. Refreshes every 10 s.</span>
        <div className="actions-bar">
          <button type="button" className="secondary" onClick={() => void load()}>
            Refresh
          </button>
        </div>
      </div>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {stats && (
        <>
          <dl className="summary">
            <div>
              <dt>Runs</dt>
              <dd data-testid="total-runs">{String(total)}</dd>
            </div>
            <div>
              <dt>Deny rate</dt>
              <dd data-testid="deny-rate">{percent(denies, total).toFixed(1)}%</dd>
            </div>
            <div>
              <dt>Error rate</dt>
              <dd data-testid="error-rate">{percent(errors, total).toFixed(1)}%</dd>
            </div>
          </dl>
          {stats.truncated && (
            <p className="muted">Busy hour: counted from {clock(stats.countedSinceMs)} on, the newest runs only.</p>
          )}
          <h2>Runs per minute</h2>
          <p className="legend">
            <span className="swatch runs" /> runs <span className="swatch denies" /> denied <span className="swatch errors" /> with errors
          </p>
          <RunsChart buckets={stats.buckets} />
          <h2>Deny and error rate</h2>
          <p className="legend">
            <span className="swatch denies" /> denied <span className="swatch errors" /> with errors
          </p>
          <RatesChart buckets={stats.buckets} />
          <h2>Time per Action</h2>
          <p className="legend">
            <span className="swatch p50" /> p50 <span className="swatch p99" /> p99
          </p>
          {stats.actions.length === 0 ? <p className="muted">No Action ran in the last hour.</p> : <TimesChart stats={stats} />}
        </>
      )}
    </section>
  );
}
