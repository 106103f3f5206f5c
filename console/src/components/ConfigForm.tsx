import { fromJsonSchema, type SchemaField } from '../schema';

type Props = {
  schema: string;
  value: string;
  onChange: (text: string) => void;
  /** The server's problems with the config, by field ('' for the config as a whole). */
  problems?: Record<string, string>;
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A form generated from the config schema, writing the config JSON. */
export function ConfigForm({ schema, value, onChange, problems = {} }: Props) {
  const model = fromJsonSchema(schema);
  let config: Record<string, Json> = {};
  let parseProblem: string | undefined;
  try {
    const parsed = JSON.parse(value || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) config = parsed;
    else parseProblem = 'the config must be a JSON object';
  } catch (e) {
    parseProblem = `the config is not JSON: ${(e as Error).message}`;
  }
  const set = (name: string, v: Json | undefined) => {
    const next = { ...config };
    if (v === undefined) delete next[name];
    else next[name] = v;
    onChange(JSON.stringify(next, null, 2));
  };
  if ('problem' in model) return <p className="muted">No form: {model.problem}.</p>;
  if (parseProblem) return <p className="error">{parseProblem}; fix it in the JSON below.</p>;
  if (model.fields.length === 0) return <p className="muted">This Action takes no configuration.</p>;
  return (
    <div className="config-form">
      {model.fields.map((f) => (
        <div key={f.name} className="field">
          {control(f)}
          {problems[f.name] && (
            <span className="error field-problem" role="alert" data-testid={`problem-${f.name}`}>
              {f.name}: {problems[f.name]}
            </span>
          )}
        </div>
      ))}
    </div>
  );

  function control(f: SchemaField) {
        const label = `${f.name}${f.required ? ' (required)' : ''}`;
        const current = config[f.name];
        switch (f.type) {
          case 'boolean':
            return (
              <label key={f.name} className="check">
                <input type="checkbox" checked={current === true} onChange={(e) => set(f.name, e.target.checked)} />
                {label}
              </label>
            );
          case 'number':
          case 'integer':
            return (
              <label key={f.name}>
                {label}
                <input
                  type="number"
                  step={f.type === 'integer' ? 1 : 'any'}
                  value={typeof current === 'number' ? current : ''}
                  onChange={(e) => set(f.name, e.target.value === '' ? undefined : Number(e.target.value))}
                />
              </label>
            );
          case 'one-of':
            return (
              <label key={f.name}>
                {label}
                <select value={typeof current === 'string' ? current : ''} onChange={(e) => set(f.name, e.target.value || undefined)}>
                  <option value="">(not set)</option>
                  {f.options.map((o) => (
                    <option key={o}>{o}</option>
                  ))}
                </select>
              </label>
            );
          case 'string-list':
            return (
              <label key={f.name}>
                {label} — one per line
                <textarea
                  rows={3}
                  value={Array.isArray(current) ? current.join('\n') : ''}
                  onChange={(e) => {
                    const items = e.target.value.split('\n').map((s) => s.trim()).filter(Boolean);
                    set(f.name, items.length ? items : undefined);
                  }}
                />
              </label>
            );
          case 'string':
            return (
              <label key={f.name}>
                {label}
                <input value={typeof current === 'string' ? current : ''} onChange={(e) => set(f.name, e.target.value || undefined)} />
              </label>
            );
          default:
            return (
              <p key={f.name} className="muted">
                {f.name}: edit in the JSON below.
              </p>
            );
        }
  }
}
