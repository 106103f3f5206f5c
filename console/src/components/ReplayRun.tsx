import { useState } from 'react';
import { explain, type ApiClients } from '../api';
import type { ReplayRunResponse } from '../gen/actions/controlplane/v1/management_pb';
import { replaySummary, sideOf } from '../replay';

/** One side of a difference: its JSON text, or “(absent)” when that side has none. */
const Side = ({ json }: { json: string }) => <pre className={json ? undefined : 'muted'}>{sideOf(json)}</pre>;

type Props = {
  api: ApiClients;
  runId: string;
  /** Why the record keeps no replay data (the record's `replay_omitted`); empty when it keeps it. */
  omitted: string;
};

/** Replay: the run again from its record, with the versions it ran, and whether it answers the same. */
export function ReplayRun({ api, runId, omitted }: Props) {
  const [answer, setAnswer] = useState<ReplayRunResponse>();
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);

  const replay = async () => {
    setBusy(true);
    setProblem(undefined);
    setAnswer(undefined);
    try {
      setAnswer(await api.tests.replayRun({ runId }));
    } catch (error) {
      setProblem(explain(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="replay">
      <div className="replay-bar">
        <button
          type="button"
          onClick={replay}
          disabled={busy || !!omitted}
          aria-describedby={omitted ? 'replay-omitted' : 'replay-help'}
        >
          {busy ? 'Replaying…' : 'Replay'}
        </button>
        {omitted ? (
          <p id="replay-omitted" className="help">
            This run cannot be replayed: {omitted}
          </p>
        ) : (
          <p id="replay-help" className="help">
            Runs it again from its record (event, configs, clock readings, random values and fetch answers) with the versions it
            ran, and compares the answers.
          </p>
        )}
      </div>
      <div aria-live="polite">
        {problem && (
          <p role="alert" className="error">
            {problem}
          </p>
        )}
        {answer && (
          <>
            <p role="status" className={answer.identical ? 'notice' : 'replay-differs'} data-testid="replay-summary">
              {replaySummary(answer)}
            </p>
            {answer.differences.length > 0 && (
              <div className="table-wrap">
                <table className="list replay-differences" aria-label="Differences, the first where the runs part">
                  <thead>
                    <tr>
                      <th>What</th>
                      <th>Recorded</th>
                      <th>Replayed</th>
                    </tr>
                  </thead>
                  <tbody>
                    {answer.differences.map((d, i) => (
                      <tr key={`${d.path}-${i}`} className={i === 0 ? 'marked' : undefined}>
                        <td>
                          <code>{d.path}</code>
                          {i === 0 && <span className="badge first-difference">where they part</span>}
                        </td>
                        <td>
                          <Side json={d.recorded} />
                        </td>
                        <td>
                          <Side json={d.replayed} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </div>
    </div>
  );
}
