import { useState } from 'react';
import { FIELD_TYPES, fromJsonSchema, modelProblems, newField, toJsonSchema, type SchemaField, type SchemaModel } from '../schema';
import { tabKeys } from '../tabKeys';

type Props = {
  /** The schema's JSON text: the one truth; the builder is a view of it. */
  value: string;
  onChange: (text: string) => void;
  readOnly: boolean;
  /** The server's word on the schema, shown at it. */
  problem?: string;
};

/** Config schema: a visual builder for non-developers and the raw JSON, kept in step. */
export function SchemaBuilder({ value, onChange, readOnly, problem }: Props) {
  const [view, setView] = useState<'builder' | 'json'>('builder');
  const parsed = fromJsonSchema(value);
  const model: SchemaModel | undefined = 'problem' in parsed ? undefined : parsed;
  const problems = model ? modelProblems(model) : ['problem' in parsed ? parsed.problem : ''];
  const update = (fields: SchemaField[]) => model && onChange(toJsonSchema({ ...model, fields }));
  const setField = (i: number, patch: Partial<SchemaField>) =>
    model && update(model.fields.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  const move = (i: number, by: number) => {
    if (!model) return;
    const fields = [...model.fields];
    const [f] = fields.splice(i, 1);
    fields.splice(i + by, 0, f);
    update(fields);
  };

  return (
    <fieldset className="schema">
      <legend>Config schema</legend>
      <p className="help">The form tenant admins fill when they attach this Action to a flow.</p>
      <div role="tablist" aria-label="Config schema view" className="subtabs" onKeyDown={tabKeys(['builder', 'json'] as const, view, setView)}>
        <button type="button" role="tab" aria-selected={view === 'builder'} tabIndex={view === 'builder' ? 0 : -1} onClick={() => setView('builder')}>
          Builder
        </button>
        <button type="button" role="tab" aria-selected={view === 'json'} tabIndex={view === 'json' ? 0 : -1} onClick={() => setView('json')}>
          JSON
        </button>
      </div>
      {view === 'json' ? (
        <textarea
          aria-label="Config schema JSON"
          className="json"
          rows={12}
          spellCheck={false}
          value={value}
          readOnly={readOnly}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : !model ? (
        <p className="error">The builder cannot show this schema ({problems[0]}); fix it in the JSON view.</p>
      ) : (
        <div className="fields">
          {model.fields.length === 0 && <p className="muted">No fields: the Action takes no configuration.</p>}
          {model.fields.map((field, i) => (
            <div className="field-row" key={i} role="group" aria-label={`Field ${field.name || i + 1}`}>
              <label>
                Field name
                <input value={field.name} readOnly={readOnly} onChange={(e) => setField(i, { name: e.target.value })} />
              </label>
              <label>
                Type
                {field.type === 'custom' ? (
                  <input value="custom (edit in JSON)" readOnly />
                ) : (
                  <select
                    value={field.type}
                    disabled={readOnly}
                    onChange={(e) => setField(i, { type: e.target.value as SchemaField['type'], extra: {} })}
                  >
                    {FIELD_TYPES.map((t) => (
                      <option key={t.type} value={t.type}>
                        {t.label}
                      </option>
                    ))}
                  </select>
                )}
              </label>
              {field.type === 'one-of' && (
                <label>
                  Values (comma-separated)
                  <input
                    value={field.options.join(', ')}
                    readOnly={readOnly}
                    onChange={(e) =>
                      setField(i, { options: e.target.value.split(',').map((s) => s.trim()).filter(Boolean) })
                    }
                  />
                </label>
              )}
              <label>
                Description
                <input value={field.description} readOnly={readOnly} onChange={(e) => setField(i, { description: e.target.value })} />
              </label>
              <label>
                Default
                <input value={field.defaultText} readOnly={readOnly} onChange={(e) => setField(i, { defaultText: e.target.value })} />
              </label>
              <label className="check">
                <input
                  type="checkbox"
                  checked={field.required}
                  disabled={readOnly}
                  onChange={(e) => setField(i, { required: e.target.checked })}
                />
                Required
              </label>
              <div className="row-buttons">
                <button type="button" className="icon" aria-label={`Move ${field.name} up`} disabled={readOnly || i === 0} onClick={() => move(i, -1)}>
                  ↑
                </button>
                <button
                  type="button"
                  className="icon"
                  aria-label={`Move ${field.name} down`}
                  disabled={readOnly || i === model.fields.length - 1}
                  onClick={() => move(i, 1)}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="icon danger"
                  aria-label={`Remove ${field.name}`}
                  disabled={readOnly}
                  onClick={() => update(model.fields.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </div>
            </div>
          ))}
          {!readOnly && (
            <button
              type="button"
              className="secondary"
              onClick={() => update([...model.fields, newField(`field_${model.fields.length + 1}`)])}
            >
              Add field
            </button>
          )}
        </div>
      )}
      {(problems.filter(Boolean).length > 0 || problem) && (
        <ul className="error" role="alert" aria-label="Config schema problems">
          {problems.filter(Boolean).map((p) => (
            <li key={p}>{p}</li>
          ))}
          {problem && <li>{problem}</li>}
        </ul>
      )}
    </fieldset>
  );
}
