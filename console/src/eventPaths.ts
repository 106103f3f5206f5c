// Every `event.*` path with its type, read from the same declarations the
// editor checks against, for the editor's {} picker.

type Member = { name: string; optional: boolean; type: string };

function interfaces(dts: string): Map<string, Member[]> {
  const found = new Map<string, Member[]>();
  const block = /export interface (\w+)(?:<[^>]*>)? \{\n([\s\S]*?)\n\}/g;
  for (const [, name, body] of dts.matchAll(block)) {
    const members: Member[] = [];
    let depth = 0;
    for (const line of body.split('\n')) {
      const trimmed = line.trim();
      if (depth === 0) {
        const m = /^(?:readonly )?(\w+)(\?)?: (.+?);?$/.exec(trimmed);
        if (m && !trimmed.startsWith('*') && !trimmed.startsWith('/')) {
          members.push({ name: m[1], optional: !!m[2], type: m[3].replace(/;$/, '') });
        }
      }
      depth += (trimmed.match(/\{/g) ?? []).length - (trimmed.match(/\}/g) ?? []).length;
    }
    found.set(name, members);
  }
  return found;
}

export type EventPath = { path: string; type: string };

/** event.* paths, depth first, with config fields from the Action's schema and the secrets it declares. */
export function eventPaths(dts: string, configFields: { name: string; type: string }[], secretNames: string[] = []): EventPath[] {
  const known = interfaces(dts);
  const out: EventPath[] = [];
  const walk = (prefix: string, members: Member[], seen: Set<string>) => {
    for (const member of members) {
      const path = `${prefix}.${member.name}`;
      if (member.name === 'config') {
        out.push({ path, type: 'Config (your config schema)' });
        for (const f of configFields) out.push({ path: `${path}.${f.name}`, type: f.type });
        continue;
      }
      if (member.name === 'secrets') {
        out.push({ path, type: 'the secrets it declares' });
        for (const name of secretNames) out.push({ path: `${path}.${name}`, type: 'string (secret)' });
        continue;
      }
      out.push({ path, type: member.optional ? `${member.type} | undefined` : member.type });
      const nested = known.get(member.type.replace(/^readonly /, '').replace(/\[\]$/, ''));
      if (nested && !member.type.endsWith('[]') && !seen.has(member.type)) {
        walk(path, nested, new Set([...seen, member.type]));
      }
    }
  };
  walk('event', known.get('Event') ?? [], new Set(['Event']));
  return out;
}
