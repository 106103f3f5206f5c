// Secrets of an Action, as the editor handles them: the declarations in
// the draft (checked with the server's rule), the type of `event.secrets`
// they give the editor, and the server's refusal to publish a version
// whose declared secrets have no value (a google.rpc.PreconditionFailure).
import { create, createFileRegistry, type DescMessage, type Message } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';

/** A secret the draft declares: what the Action reads as event.secrets.NAME. */
export type SecretRow = { name: string; description: string };

/** As many as the server takes for one Action. */
export const MAX_SECRETS = 20;
/** Bytes of one value. */
export const MAX_VALUE_BYTES = 4096;
/** The shortest value the server takes: runners redact values only from this length. */
export const MIN_VALUE_BYTES = 6;

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** The server's rule for a name: 1 to 64 letters, digits and '_', not starting with a digit. */
export function secretNameProblem(name: string): string | undefined {
  if (!name) return 'Give the secret a name.';
  if (name.length > 64) return 'At most 64 characters.';
  if (/^[0-9]/.test(name)) return 'A name may not start with a digit.';
  if (!NAME.test(name)) return "Use only letters, digits and '_' (it is read as event.secrets.NAME).";
  return undefined;
}

/** A problem per row (by index) and one for the list as a whole (key -1), if any. */
export function declarationProblems(rows: SecretRow[]): Record<number, string> {
  const problems: Record<number, string> = {};
  const seen = new Set<string>();
  rows.forEach((row, i) => {
    const problem = secretNameProblem(row.name);
    if (problem) problems[i] = problem;
    else if (seen.has(row.name)) problems[i] = `"${row.name}" is declared twice.`;
    seen.add(row.name);
  });
  if (rows.length > MAX_SECRETS) problems[-1] = `An Action reads at most ${MAX_SECRETS} secrets.`;
  return problems;
}

/** A value's problem, if it has one: empty, too short to be redacted, or over the server's size. */
export function valueProblem(value: string): string | undefined {
  if (!value) return 'Enter a value.';
  const bytes = new TextEncoder().encode(value).length;
  if (bytes < MIN_VALUE_BYTES) return `At least ${MIN_VALUE_BYTES} bytes: shorter values could not be redacted from run output.`;
  if (bytes > MAX_VALUE_BYTES) return `At most ${MAX_VALUE_BYTES} bytes (this is ${bytes}).`;
  return undefined;
}

/** The names declared, valid and once each, in their order. */
export function declaredNames(rows: SecretRow[]): string[] {
  return [...new Set(rows.map((r) => r.name).filter((n) => !secretNameProblem(n)))];
}

/** The test values to send: those typed (not empty) for a secret the draft declares. */
export function testSecrets(values: Record<string, string>, declared: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([name, value]) => value !== '' && declared.includes(name)));
}

/** How actions.d.ts types `event.secrets`: the `Secrets` parameter of `Event`, an open map unless given. */
const ANY_SECRETS = 'readonly secrets: Secrets;';

/**
 * The declarations with `event.secrets` typed by the declared names, so that
 * reading one the Action does not declare is a type error in the editor.
 * With no (valid) declaration they are left as they are.
 */
export function secretsDeclarations(dts: string, rows: SecretRow[]): string {
  const names = declaredNames(rows);
  if (!names.length || !dts.includes(ANY_SECRETS)) return dts;
  const members = rows
    .filter((r, i) => names.includes(r.name) && rows.findIndex((o) => o.name === r.name) === i)
    .map((r) => `${r.description ? `/** ${r.description.replace(/\*\//g, '* /')} */ ` : ''}readonly ${r.name}: string;`)
    .join(' ');
  return dts.replace(ANY_SECRETS, `readonly secrets: { ${members} };`);
}

// google.rpc.PreconditionFailure, described here: the proto folder has no
// copy of Google's error_details.proto, and this message is all we read of it.
const preconditionFailureFile = create(FileDescriptorProtoSchema, {
  name: 'google/rpc/error_details.proto',
  package: 'google.rpc',
  syntax: 'proto3',
  messageType: [
    {
      name: 'PreconditionFailure',
      field: [
        {
          name: 'violations',
          jsonName: 'violations',
          number: 1,
          label: FieldDescriptorProto_Label.REPEATED,
          type: FieldDescriptorProto_Type.MESSAGE,
          typeName: '.google.rpc.PreconditionFailure.Violation',
        },
      ],
      nestedType: [
        {
          name: 'Violation',
          field: ['type', 'subject', 'description'].map((name, i) => ({
            name,
            jsonName: name,
            number: i + 1,
            label: FieldDescriptorProto_Label.OPTIONAL,
            type: FieldDescriptorProto_Type.STRING,
          })),
        },
      ],
    },
  ],
});

export const PreconditionFailureSchema: DescMessage = createFileRegistry(preconditionFailureFile, () => undefined).getMessage(
  'google.rpc.PreconditionFailure',
)!;

type Violation = { type: string; subject: string; description: string };
type PreconditionFailure = Message & { violations: Violation[] };

/**
 * The secrets a refused publish names as having no value: the subjects of
 * the PreconditionFailure detail's SECRET_NOT_SET violations. Empty when
 * the refusal is about something else or has no such detail (its message,
 * shown as well, names them then).
 */
export function unsetSecrets(error: unknown): string[] {
  const e = ConnectError.from(error);
  if (e.code !== Code.FailedPrecondition) return [];
  const details = e.findDetails(PreconditionFailureSchema) as PreconditionFailure[];
  return [...new Set(details.flatMap((d) => d.violations.filter((v) => v.type === 'SECRET_NOT_SET').map((v) => v.subject)))];
}
