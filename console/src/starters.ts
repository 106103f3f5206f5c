// The starters of `action init`, read from the same files (examples/starters)
// when the console is built: one source for the CLI, the demo and the console.
import actionsDts from '../../javy-shims/types/actions.d.ts?raw';

const files = import.meta.glob('../../examples/starters/*/**/*', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

export type StarterId = 'empty' | 'domain-allowlist' | 'webhook-emit' | 'custom-claim';

export type Starter = {
  id: StarterId;
  name: string;
  blurb: string;
  version: string;
  triggers: string[];
  configSchema: string;
  /** Package files: src/*.ts and friends, with the declarations import made local. */
  source: Record<string, string>;
  /** A config that fits the schema, when the starter has one. */
  config: string;
  /** Sample events by file name. */
  events: Record<string, string>;
};

const BLURBS: Record<StarterId, string> = {
  empty: 'Bare-bones skeleton.',
  'domain-allowlist': 'Pre-filled with the "reject sign-ins outside a domain list" pattern.',
  'webhook-emit': 'Pre-filled with the "post to a URL" pattern.',
  'custom-claim': 'Pre-filled with the "add a claim to the token" pattern.',
};

/** In the guide's order. */
const ORDER: StarterId[] = ['empty', 'domain-allowlist', 'webhook-emit', 'custom-claim'];

/** Where the repository's starters import the declarations from, and where a package does. */
const REPOSITORY_TYPES = "'../../../../javy-shims/types/actions'";
export const PACKAGE_TYPES = "'../types/actions'";

function starter(id: StarterId): Starter {
  const prefix = `../../examples/starters/${id}/`;
  const own = Object.entries(files)
    .filter(([path]) => path.startsWith(prefix))
    .map(([path, text]) => [path.slice(prefix.length), text] as const);
  const manifest = JSON.parse(own.find(([p]) => p === 'action.json')?.[1] ?? '{}');
  const source: Record<string, string> = {};
  const events: Record<string, string> = {};
  for (const [path, text] of own) {
    if (path.startsWith('src/')) source[path] = text.split(REPOSITORY_TYPES).join(PACKAGE_TYPES);
    if (path.startsWith('events/')) events[path.slice('events/'.length)] = text;
  }
  return {
    id,
    name: manifest.name,
    blurb: BLURBS[id],
    version: manifest.version ?? '0.1.0',
    triggers: manifest.triggers ?? [],
    configSchema: JSON.stringify(manifest.config_schema ?? { type: 'object' }, null, 2),
    source,
    config: own.find(([p]) => p === 'config.json')?.[1] ?? '{}',
    events,
  };
}

export const STARTERS: Starter[] = ORDER.map(starter);

/** The declarations `action init` writes to types/actions.d.ts. */
export const ACTIONS_D_TS: string = actionsDts;

/** A sample event for a trigger: one of the starters' events. */
export function sampleEvent(trigger: string): string {
  const registration = trigger.startsWith('registration.');
  const from = STARTERS.find((s) => s.id === (registration ? 'webhook-emit' : 'empty'));
  return Object.values(from?.events ?? {})[0] ?? '{}';
}
