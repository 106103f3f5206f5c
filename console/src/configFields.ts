// What the generated config form needs beyond the schema model: the
// defaults a new binding starts with, and the server's refusal split into
// a problem per field so that each is shown where it is typed.
import { fromJsonSchema, parseDefault } from './schema';

/** The config a new binding starts from: every field's default, if it has one. */
export function configDefaults(schema: string): string {
  const model = fromJsonSchema(schema);
  if ('problem' in model) return '{}';
  const config: Record<string, unknown> = {};
  for (const field of model.fields) {
    const { value } = parseDefault(field);
    if (value !== undefined) config[field.name] = value;
  }
  return JSON.stringify(config, null, 2);
}

/**
 * The server says a config misfits as `... schema of version V: /path: what; /: "name" is a
 * required property`. Each problem goes to the field its path (or its missing name) names;
 * what names no field is kept under '' for the form as a whole.
 */
export function fieldProblems(message: string, fields: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  const add = (field: string, problem: string) => {
    found[field] = found[field] ? `${found[field]}; ${problem}` : problem;
  };
  const listed = /config schema of version [^:]+: (.*)$/s.exec(message);
  if (!listed) return { '': message };
  for (const problem of listed[1].split('; ')) {
    const [, path, what] = /^(\/[^:]*): (.*)$/s.exec(problem) ?? [undefined, '', problem];
    const top = path.split('/')[1] ?? '';
    const missing = /^"([^"]+)" is a required property/.exec(what)?.[1];
    const field = fields.includes(top) ? top : missing && fields.includes(missing) ? missing : '';
    add(field, field === missing ? 'required: enter a value' : what);
  }
  return found;
}
