import { useCallback, useEffect, useState } from 'react';
import { Code, codeOf, explain, type ApiClients } from '../api';
import type { Action, Flow, SlotBinding, TriggerSlot, Version } from '../gen/actions/controlplane/v1/management_pb';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CandidateBindingSchema } from '../gen/actions/controlplane/v1/management_pb';
import type { ExecuteResponse } from '../gen/actions/runner/v1/execution_pb';
import { ConfigForm } from '../components/ConfigForm';
import { RunResult } from '../components/RunResult';
import { sampleEvent } from '../starters';
import { navigate } from '../session';
import { configDefaults, fieldProblems } from '../configFields';
import { fromJsonSchema } from '../schema';

const FLOW_NAMES: Record<string, string> = { login: 'Login', registration: 'Registration' };

/** Authentication → Flows: the flows, their trigger slots in order, each slot's bindings in order. */
export function FlowsPage({ api, flow }: { api: ApiClients; flow?: string }) {
  const [flows, setFlows] = useState<Flow[]>();
  const [actions, setActions] = useState<Action[]>([]);
  const [problem, setProblem] = useState<string>();

  const load = useCallback(async () => {
    try {
      const [f, a] = await Promise.all([api.flows.listFlows({}), api.actions.listActions({ pageSize: 100 })]);
      setFlows(f.flows);
      setActions(a.actions);
    } catch (error) {
      setProblem(explain(error));
    }
  }, [api]);
  useEffect(() => {
    void load();
  }, [load]);

  const current = flows?.find((f) => f.name === flow);
  return (
    <section aria-labelledby="flows-title">
      <h1 id="flows-title">{current ? `${FLOW_NAMES[current.name] ?? current.name} flow` : 'Flows'}</h1>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {!current && (
        <ul className="starters">
          {flows?.map((f) => (
            <li key={f.name}>
              <button type="button" className="starter" onClick={() => navigate(`/flows/${f.name}`)}>
                <strong>{FLOW_NAMES[f.name] ?? f.name}</strong>
                <span>
                  {f.slots.length} trigger slots, {f.slots.reduce((n, s) => n + s.bindings.length, 0)} Actions attached
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {current?.slots.map((slot) => <Slot key={slot.trigger} api={api} slot={slot} actions={actions} onChanged={load} />)}
    </section>
  );
}

function Slot({ api, slot, actions, onChanged }: { api: ApiClients; slot: TriggerSlot; actions: Action[]; onChanged: () => Promise<void> }) {
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const [dragged, setDragged] = useState<string>();
  const [testing, setTesting] = useState(false);

  const act = async (what: string, call: () => Promise<unknown>) => {
    setProblem(undefined);
    try {
      await call();
      await onChanged();
    } catch (error) {
      setProblem(`${what}: ${explain(error)}`);
    }
  };
  const move = (b: SlotBinding, position: number) =>
    act(`Moving ${b.actionSlug}`, () => api.flows.moveBinding({ bindingId: b.id, position }));

  return (
    <section className="slot" aria-labelledby={`slot-${slot.trigger}`}>
      <div className="page-head">
        <h2 id={`slot-${slot.trigger}`}>
          <code>{slot.trigger}</code>
        </h2>
        <div className="actions-bar">
          <button type="button" onClick={() => setAdding(!adding)} aria-expanded={adding}>
            Add Action
          </button>
          <button type="button" className="secondary" onClick={() => setTesting(!testing)} aria-expanded={testing}>
            Test this slot
          </button>
        </div>
      </div>
      <p className="help">
        {slot.description} Actions here may call: {slot.methods.map((m) => <code key={m}>{m} </code>)}
      </p>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {adding && (
        <AddBinding
          api={api}
          slot={slot}
          actions={actions}
          onDone={async () => {
            setAdding(false);
            await onChanged();
          }}
        />
      )}
      {slot.bindings.length === 0 ? (
        <p className="muted">No Actions run here.</p>
      ) : (
        <ol className="bindings" aria-label={`Actions at ${slot.trigger}, in the order they run`}>
          {slot.bindings.map((b, i) => (
            <li
              key={b.id}
              draggable
              onDragStart={() => setDragged(b.id)}
              onDragOver={(e) => e.preventDefault()}
              onDrop={() => {
                const from = slot.bindings.find((x) => x.id === dragged);
                setDragged(undefined);
                if (from && from.id !== b.id) void move(from, i);
              }}
              aria-label={`${i + 1}. ${b.actionSlug}`}
              tabIndex={0}
              aria-keyshortcuts="Alt+ArrowUp Alt+ArrowDown"
              onKeyDown={(e) => {
                if (!e.altKey || e.target !== e.currentTarget) return;
                if (e.key === 'ArrowUp' && i > 0) {
                  e.preventDefault();
                  void move(b, i - 1);
                } else if (e.key === 'ArrowDown' && i < slot.bindings.length - 1) {
                  e.preventDefault();
                  void move(b, i + 1);
                }
              }}
            >
              <div className="binding-head">
                <span className="drag" aria-hidden="true" title="Drag, or Alt+↑ / Alt+↓, to reorder">
                  ⠿
                </span>
                <strong>{b.actionSlug}</strong>
                <span className="muted">
                  {b.version ? `v${b.version}` : 'no live version'} · follows major {String(b.major)} ·{' '}
                  {b.failOpen ? 'fails open' : 'fails closed'}
                </span>
                <div className="row-buttons">
                  <button type="button" className="icon" aria-label={`Move ${b.actionSlug} up`} disabled={i === 0} onClick={() => move(b, i - 1)}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="icon"
                    aria-label={`Move ${b.actionSlug} down`}
                    disabled={i === slot.bindings.length - 1}
                    onClick={() => move(b, i + 1)}
                  >
                    ↓
                  </button>
                  <button type="button" className="secondary" onClick={() => setEditing(editing === b.id ? undefined : b.id)}>
                    Configure {b.actionSlug}
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => {
                      if (window.confirm(`Detach ${b.actionSlug} from ${slot.trigger}? It stops running on the next sign-in.`)) {
                        void act(`Detaching ${b.actionSlug}`, () => api.flows.detachBinding({ bindingId: b.id }));
                      }
                    }}
                  >
                    Detach {b.actionSlug}
                  </button>
                </div>
              </div>
              {editing === b.id && (
                <EditBinding
                  api={api}
                  slot={slot}
                  binding={b}
                  onDone={async () => {
                    setEditing(undefined);
                    await onChanged();
                  }}
                />
              )}
            </li>
          ))}
        </ol>
      )}
      {testing && <SlotTest api={api} slot={slot} />}
    </section>
  );
}

type Candidate = MessageInitShape<typeof CandidateBindingSchema>;

/** A saved binding as a candidate: what it is now, to change one thing of. */
const asCandidate = (b: SlotBinding): Candidate => ({
  bindingId: b.id,
  actionSlug: b.actionSlug,
  major: b.major,
  configJson: b.configJson,
  failOpen: b.failOpen,
  limits: b.limits,
});

/** The server's refusal of a config: each problem at its field, when it is about the config. */
function problemsOf(error: unknown, schema: string | undefined): Record<string, string> {
  const message = explain(error);
  if (codeOf(error) !== Code.FailedPrecondition || !schema) return { '': message };
  const model = fromJsonSchema(schema);
  return fieldProblems(message, 'problem' in model ? [] : model.fields.map((f) => f.name));
}

/** The slot run with a change not yet saved: what the change would do to a sign-in. */
function CandidateTest({ api, slot, candidate }: { api: ApiClients; slot: TriggerSlot; candidate: () => Candidate[] }) {
  const [event, setEvent] = useState(sampleEvent(slot.trigger));
  const [open, setOpen] = useState(false);
  const [result, setResult] = useState<Awaited<ReturnType<ApiClients['tests']['testSlot']>>>();
  const [problem, setProblem] = useState<string>();
  const run = async () => {
    setProblem(undefined);
    setResult(undefined);
    try {
      setResult(await api.tests.testSlot({ trigger: slot.trigger, eventJson: event, useCandidate: true, candidate: candidate() }));
    } catch (error) {
      setProblem(explain(error));
    }
  };
  return (
    <div className="candidate-test">
      <button type="button" className="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>
        Test before saving
      </button>
      {open && (
        <div className="test-tab" aria-label={`Test the unsaved change at ${slot.trigger}`}>
          <div className="test-inputs">
            <label>
              Event for the unsaved change
              <textarea className="json" rows={8} value={event} onChange={(e) => setEvent(e.target.value)} />
            </label>
            <button type="button" onClick={run}>
              Run the slot with this change
            </button>
          </div>
          <div aria-live="polite">
            {problem && (
              <p role="alert" className="error">
                {problem}
              </p>
            )}
            {result && <RunResult result={result} />}
          </div>
        </div>
      )}
    </div>
  );
}

/** The live version of the major a binding would follow: its schema makes the form. */
async function liveVersion(api: ApiClients, slug: string, major?: bigint): Promise<Version | undefined> {
  const list = await api.actions.listVersions({ slug, pageSize: 100 });
  const live = list.versions.filter((v) => v.live);
  if (major === undefined) return live.sort((a, b) => Number(b.publishedAtMs - a.publishedAtMs))[0];
  return live.find((v) => v.version.split('.')[0] === String(major));
}

function AddBinding({ api, slot, actions, onDone }: { api: ApiClients; slot: TriggerSlot; actions: Action[]; onDone: () => Promise<void> }) {
  const why = (a: Action) =>
    !a.liveVersions.length ? 'not published' : !a.triggers.includes(slot.trigger) ? `not made for ${slot.trigger}` : undefined;
  const [slug, setSlug] = useState(actions.find((a) => !why(a))?.slug ?? '');
  const [version, setVersion] = useState<Version>();
  const [config, setConfig] = useState('{}');
  const [failOpen, setFailOpen] = useState(false);
  const [major, setMajor] = useState<bigint>();
  const [problems, setProblems] = useState<Record<string, string>>({});
  const majors = [...new Set((actions.find((a) => a.slug === slug)?.liveVersions ?? []).map((v) => v.split('.')[0]))];
  useEffect(() => {
    if (!slug) return;
    void liveVersion(api, slug, major).then(
      (v) => {
        setVersion(v);
        setConfig(configDefaults(v?.configSchemaJson ?? ''));
      },
      (e) => setProblems({ '': explain(e) }),
    );
  }, [api, slug, major]);
  const chosen = (): Candidate => ({ actionSlug: slug, major, configJson: config, failOpen });
  const save = async () => {
    setProblems({});
    try {
      await api.flows.attachAction({ trigger: slot.trigger, actionSlug: slug, major, configJson: config, failOpen });
      await onDone();
    } catch (error) {
      setProblems(problemsOf(error, version?.configSchemaJson));
    }
  };
  const problem = problems[''];
  return (
    <form className="binding-form" aria-label={`Add an Action to ${slot.trigger}`} onSubmit={(e) => e.preventDefault()}>
      <fieldset>
        <legend>Action</legend>
        {actions.map((a) => (
          <label key={a.slug} className="check">
            <input
              type="radio"
              name={`add-${slot.trigger}`}
              checked={slug === a.slug}
              disabled={!!why(a)}
              onChange={() => {
                setSlug(a.slug);
                setMajor(undefined);
              }}
            />
            {a.name} <code>{a.slug}</code>
            {why(a) && <span className="muted"> — {why(a)}</span>}
          </label>
        ))}
        {actions.length === 0 && <p className="muted">No Actions yet: create one under Actions first.</p>}
      </fieldset>
      {version && (
        <fieldset>
          <legend>Configure {slug}</legend>
          {majors.length > 1 && (
            <label>
              Major version followed
              <select value={major === undefined ? '' : String(major)} onChange={(e) => setMajor(e.target.value === '' ? undefined : BigInt(e.target.value))}>
                <option value="">the latest published ({version.version.split('.')[0]})</option>
                {majors.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
          )}
          <p className="help">
            Runs {slug}@{version.version}; follows major {version.version.split('.')[0]} (a later {version.version.split('.')[0]}.x
            published is picked up).
          </p>
          <ConfigForm schema={version.configSchemaJson} value={config} onChange={setConfig} problems={problems} />
          <label>
            Config JSON
            <textarea className="json" rows={4} value={config} onChange={(e) => setConfig(e.target.value)} />
          </label>
          <label className="check">
            <input type="checkbox" checked={failOpen} onChange={(e) => setFailOpen(e.target.checked)} />
            Fail open (a failure of this Action lets the sign-in carry on)
          </label>
        </fieldset>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <div className="row-buttons">
        <button type="button" onClick={save} disabled={!slug}>
          Save
        </button>
      </div>
      {slug && <CandidateTest api={api} slot={slot} candidate={() => [...slot.bindings.map(asCandidate), chosen()]} />}
    </form>
  );
}

function EditBinding({
  api,
  slot,
  binding,
  onDone,
}: {
  api: ApiClients;
  slot: TriggerSlot;
  binding: SlotBinding;
  onDone: () => Promise<void>;
}) {
  const [version, setVersion] = useState<Version>();
  const [config, setConfig] = useState(JSON.stringify(JSON.parse(binding.configJson || '{}'), null, 2));
  const [failOpen, setFailOpen] = useState(binding.failOpen);
  const [major, setMajor] = useState(binding.major);
  const [majors, setMajors] = useState<bigint[]>([]);
  const [problems, setProblems] = useState<Record<string, string>>({});
  useEffect(() => {
    void liveVersion(api, binding.actionSlug, major).then(setVersion, (e) => setProblems({ '': explain(e) }));
  }, [api, binding, major]);
  useEffect(() => {
    void api.actions.listVersions({ slug: binding.actionSlug, pageSize: 100 }).then(
      (list) => setMajors([...new Set(list.versions.filter((v) => v.live).map((v) => BigInt(v.version.split('.')[0])))]),
      (e) => setProblems({ '': explain(e) }),
    );
  }, [api, binding]);
  const save = async () => {
    setProblems({});
    try {
      await api.flows.updateBinding({ bindingId: binding.id, configJson: config, failOpen, major: major === binding.major ? undefined : major });
      await onDone();
    } catch (error) {
      setProblems(problemsOf(error, version?.configSchemaJson));
    }
  };
  const problem = problems[''];
  const changed = () =>
    slot.bindings.map((b) => (b.id === binding.id ? { ...asCandidate(b), configJson: config, failOpen, major } : asCandidate(b)));
  return (
    <form className="binding-form" aria-label={`Configure ${binding.actionSlug}`} onSubmit={(e) => e.preventDefault()}>
      {majors.length > 1 && (
        <label>
          Major version followed
          <select value={String(major)} onChange={(e) => setMajor(BigInt(e.target.value))}>
            {majors.map((m) => (
              <option key={String(m)} value={String(m)}>
                {String(m)}
              </option>
            ))}
          </select>
        </label>
      )}
      {version && <ConfigForm schema={version.configSchemaJson} value={config} onChange={setConfig} problems={problems} />}
      <label>
        Config JSON
        <textarea className="json" rows={4} value={config} onChange={(e) => setConfig(e.target.value)} />
      </label>
      <label className="check">
        <input type="checkbox" checked={failOpen} onChange={(e) => setFailOpen(e.target.checked)} />
        Fail open
      </label>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      <div className="row-buttons">
        <button type="button" onClick={save}>
          Save
        </button>
      </div>
      <CandidateTest api={api} slot={slot} candidate={changed} />
    </form>
  );
}

/**
 * The flow-builder test: a synthetic sign-in through the slot with its current bindings, or
 * with them in another order tried here first (a move not yet made).
 */
function SlotTest({ api, slot }: { api: ApiClients; slot: TriggerSlot }) {
  const [event, setEvent] = useState(sampleEvent(slot.trigger));
  const [order, setOrder] = useState<string[]>(slot.bindings.map((b) => b.id));
  const [result, setResult] = useState<ExecuteResponse>();
  const [problem, setProblem] = useState<string>();
  const saved = slot.bindings.map((b) => b.id);
  // Bindings attached or detached since the order was last tried start it over.
  const tried = order.length === saved.length && order.every((id) => saved.includes(id)) ? order : saved;
  const moved = tried.some((id, i) => id !== saved[i]);
  const swap = (i: number, j: number) => {
    const next = [...tried];
    [next[i], next[j]] = [next[j], next[i]];
    setOrder(next);
  };
  const run = async () => {
    setProblem(undefined);
    try {
      const candidate = tried.map((id) => asCandidate(slot.bindings.find((b) => b.id === id)!));
      setResult(await api.tests.testSlot({ trigger: slot.trigger, eventJson: event, useCandidate: moved, candidate: moved ? candidate : [] }));
    } catch (error) {
      setProblem(explain(error));
    }
  };
  return (
    <div className="test-tab" aria-label={`Test ${slot.trigger}`}>
      <div className="test-inputs">
        <label>
          Event — a synthetic user, request and client
          <textarea className="json" rows={12} value={event} onChange={(e) => setEvent(e.target.value)} />
        </label>
        {tried.length > 1 && (
          <fieldset>
            <legend>Order to test{moved && ' (not saved)'}</legend>
            <ol className="test-order" aria-label="Order to test">
              {tried.map((id, i) => {
                const slug = slot.bindings.find((b) => b.id === id)?.actionSlug;
                return (
                  <li key={id}>
                    {slug}
                    <button type="button" className="icon" aria-label={`Test ${slug} earlier`} disabled={i === 0} onClick={() => swap(i, i - 1)}>
                      ↑
                    </button>
                  </li>
                );
              })}
            </ol>
          </fieldset>
        )}
        <button type="button" onClick={run}>
          Run the slot
        </button>
      </div>
      <div aria-live="polite">
        {problem && (
          <p role="alert" className="error">
            {problem}
          </p>
        )}
        {result && <RunResult result={result} />}
      </div>
    </div>
  );
}
