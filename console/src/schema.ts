// The visual schema builder's model, and its two-way mapping to JSON Schema.
// Keywords the builder has no control for (pattern, format, minimum, ...)
// are carried along untouched, so that builder -> JSON -> builder loses nothing.

export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'string-list' | 'one-of' | 'custom';

export const FIELD_TYPES: { type: FieldType; label: string }[] = [
  { type: 'string', label: 'Text' },
  { type: 'number', label: 'Number' },
  { type: 'integer', label: 'Whole number' },
  { type: 'boolean', label: 'Yes / no' },
  { type: 'string-list', label: 'List of text' },
  { type: 'one-of', label: 'One of a set' },
];

export type SchemaField = {
  name: string;
  type: FieldType;
  required: boolean;
  description: string;
  /** The default as the user typed it ('' for none). */
  defaultText: string;
  /** For 'one-of': the allowed values. */
  options: string[];
  /** Keywords of the property the builder does not edit. */
  extra: Record<string, unknown>;
};

export type SchemaModel = {
  fields: SchemaField[];
  /** Top-level keywords other than type, properties and required. */
  extra: Record<string, unknown>;
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function newField(name: string): SchemaField {
  return { name, type: 'string', required: false, description: '', defaultText: '', options: [], extra: {} };
}

/** The builder's model of a schema, or why the builder cannot show it. */
export function fromJsonSchema(text: string): SchemaModel | { problem: string } {
  let schema: unknown;
  try {
    schema = JSON.parse(text || '{}');
  } catch (e) {
    return { problem: `the schema is not JSON: ${(e as Error).message}` };
  }
  if (!isObject(schema)) return { problem: 'the schema must be a JSON object' };
  if (schema.type !== undefined && schema.type !== 'object') {
    return { problem: 'a config schema describes an object ("type": "object")' };
  }
  const { type: _type, properties, required, ...extra } = schema;
  if (properties !== undefined && !isObject(properties)) return { problem: '"properties" must be an object' };
  const requiredNames = Array.isArray(required) ? required.filter((r): r is string => typeof r === 'string') : [];
  const fields = Object.entries(properties ?? {}).map(([name, raw]) => fieldOf(name, raw, requiredNames.includes(name)));
  return { fields, extra };
}

function fieldOf(name: string, raw: Json, required: boolean): SchemaField {
  const property: JsonObject = isObject(raw) ? raw : {};
  const { type, description, default: dflt, enum: choices, ...rest } = property;
  const field: SchemaField = {
    name,
    type: 'custom',
    required,
    description: typeof description === 'string' ? description : '',
    defaultText: dflt === undefined ? '' : defaultToText(dflt),
    options: [],
    extra: rest,
  };
  if (type === 'string' && Array.isArray(choices)) {
    field.type = 'one-of';
    field.options = choices.map(String);
  } else if (choices !== undefined) {
    field.extra = { ...rest, enum: choices, ...(type === undefined ? {} : { type }) };
  } else if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') {
    field.type = type;
  } else if (type === 'array' && isObject(rest.items) && rest.items.type === 'string') {
    field.type = 'string-list';
  } else {
    field.extra = { ...rest, ...(type === undefined ? {} : { type }) };
  }
  return field;
}

function defaultToText(value: Json): string {
  if (Array.isArray(value)) return value.map(String).join(', ');
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The default a field's text stands for, or why it does not fit the type. */
export function parseDefault(field: SchemaField): { value?: Json; problem?: string } {
  const text = field.defaultText.trim();
  if (text === '') return {};
  switch (field.type) {
    case 'number':
    case 'integer': {
      const n = Number(text);
      if (!Number.isFinite(n) || (field.type === 'integer' && !Number.isInteger(n))) {
        return { problem: `default of ${field.name} must be ${field.type === 'integer' ? 'a whole number' : 'a number'}` };
      }
      return { value: n };
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') return { problem: `default of ${field.name} must be true or false` };
      return { value: text === 'true' };
    case 'string-list':
      return { value: text.split(',').map((s) => s.trim()).filter(Boolean) };
    case 'one-of':
      if (!field.options.includes(text)) return { problem: `default of ${field.name} must be one of the set` };
      return { value: text };
    case 'custom':
      try {
        return { value: JSON.parse(text) };
      } catch {
        return { value: text };
      }
    default:
      return { value: text };
  }
}

/** Problems the builder can see before the server does. */
export function modelProblems(model: SchemaModel): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const field of model.fields) {
    if (!field.name.trim()) problems.push('every field needs a name');
    else if (seen.has(field.name)) problems.push(`two fields are named ${field.name}`);
    seen.add(field.name);
    const { problem } = parseDefault(field);
    if (problem) problems.push(problem);
    if (field.type === 'one-of' && field.options.length === 0) problems.push(`${field.name}: add at least one value to the set`);
  }
  return problems;
}

export function toJsonSchema(model: SchemaModel): string {
  const properties: JsonObject = {};
  for (const field of model.fields) {
    const property: JsonObject = {};
    switch (field.type) {
      case 'string':
      case 'number':
      case 'integer':
      case 'boolean':
        property.type = field.type;
        break;
      case 'string-list':
        property.type = 'array';
        break;
      case 'one-of':
        property.type = 'string';
        property.enum = field.options;
        break;
      case 'custom':
        break;
    }
    if (field.description) property.description = field.description;
    const { value } = parseDefault(field);
    if (value !== undefined) property.default = value;
    Object.assign(property, field.extra);
    if (field.type === 'string-list') {
      property.items = { ...(isObject(field.extra.items) ? field.extra.items : {}), type: 'string' };
    }
    properties[field.name] = property;
  }
  const required = model.fields.filter((f) => f.required).map((f) => f.name);
  const schema: JsonObject = { type: 'object', ...(required.length ? { required } : {}), properties };
  Object.assign(schema, model.extra);
  return JSON.stringify(schema, null, 2);
}
