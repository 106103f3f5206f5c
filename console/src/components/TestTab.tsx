import { useState } from 'react';
import { explain, sourceProblem, type ApiClients } from '../api';
import type { ExecuteResponse } from '../gen/actions/runner/v1/execution_pb';
import type { SourceProblem } from '../gen/actions/controlplane/v1/management_pb';
import { testSecrets } from '../secrets';
import { sampleEvent } from '../starters';
import { ConfigForm } from './ConfigForm';
import { RunResult } from './RunResult';

type Props = {
  api: ApiClients;
  triggers: string[];
  files: Record<string, string>;
  schema: string;
  /** The secrets the draft declares: each may get a test value. */
  secretNames: string[];
  /** The saved Action the code is an edit of: its stored secrets fill in those without a test value. */
  slug?: string;
  /** Inputs kept by the editor page, so that switching tabs keeps them. */
  inputs: TestInputs;
  setInputs: (inputs: TestInputs) => void;
  onSourceProblem: (problem: SourceProblem) => void;
};

/** `secrets`: test values by name, kept in memory only, never saved. */
export type TestInputs = { trigger: string; event: string; config: string; secrets: Record<string, string> };

export function initialInputs(trigger: string, event: string | undefined, config: string): TestInputs {
  return { trigger, event: event ?? sampleEvent(trigger), config, secrets: {} };
}

/** The Test tab: the editor's current text, unsaved, run in the production sandbox. */
export function TestTab({ api, triggers, files, schema, secretNames, slug, inputs, setInputs, onSourceProblem }: Props) {
  const [result, setResult] = useState<ExecuteResponse>();
  const [problem, setProblem] = useState<string>();
  const [busy, setBusy] = useState(false);
  const trigger = triggers.includes(inputs.trigger) ? inputs.trigger : triggers[0] ?? '';

  const run = async () => {
    setBusy(true);
    setProblem(undefined);
    setResult(undefined);
    try {
      setResult(
        await api.tests.testSource({
          source: { files, entry: '' },
          trigger,
          eventJson: inputs.event,
          configJson: inputs.config,
          configSchemaJson: schema,
          secrets: testSecrets(inputs.secrets, secretNames),
          slug: slug ?? '',
        }),
      );
    } catch (error) {
      const at = sourceProblem(error);
      if (at) onSourceProblem(at);
      setProblem(explain(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="test-tab">
      <div className="test-inputs">
        <label>
          Trigger
          <select value={trigger} onChange={(e) => setInputs({ ...inputs, trigger: e.target.value })}>
            {triggers.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Event — a synthetic user, request and client
          <textarea
            className="json"
            rows={14}
            spellCheck={false}
            value={inputs.event}
            onChange={(e) => setInputs({ ...inputs, event: e.target.value })}
          />
        </label>
        <button type="button" className="link" onClick={() => setInputs({ ...inputs, event: sampleEvent(trigger) })}>
          Reset to the trigger's sample event
        </button>
        <fieldset>
          <legend>Config</legend>
          <ConfigForm schema={schema} value={inputs.config} onChange={(config) => setInputs({ ...inputs, config })} />
          <label>
            Config JSON
            <textarea
              className="json"
              rows={5}
              spellCheck={false}
              value={inputs.config}
              onChange={(e) => setInputs({ ...inputs, config: e.target.value })}
            />
          </label>
        </fieldset>
        {secretNames.length > 0 && (
          <fieldset className="test-secrets">
            <legend>Secrets</legend>
            <p className="help">
              Test values for this run only, never saved.{' '}
              {slug ? 'A secret left empty gets the value set in the Secrets tab, if any.' : 'Without one a secret is not set: the Action is not saved yet.'}
            </p>
            {secretNames.map((name) => (
              <label key={name}>
                Test value of {name}
                <input
                  type="password"
                  autoComplete="off"
                  spellCheck={false}
                  value={inputs.secrets[name] ?? ''}
                  placeholder={slug ? 'empty: the stored value' : ''}
                  onChange={(e) => setInputs({ ...inputs, secrets: { ...inputs.secrets, [name]: e.target.value } })}
                />
              </label>
            ))}
          </fieldset>
        )}
        <button type="button" onClick={run} disabled={busy || !trigger}>
          {busy ? 'Running…' : 'Run'}
        </button>
        {!trigger && <p className="error">Choose at least one compatible trigger first.</p>}
      </div>
      <div className="test-output" aria-live="polite">
        {problem && (
          <p role="alert" className="error">
            {problem}
          </p>
        )}
        {result && <RunResult result={result} />}
        {!result && !problem && <p className="muted">Run the current code (saved or not) against these inputs.</p>}
      </div>
    </div>
  );
}
