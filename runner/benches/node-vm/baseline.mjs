// The baseline a team would reach for instead of Wasm: Node.js `vm`, a new
// context per run, running the same bundled JavaScript the Actions compiler
// produced, with the same prelude (`api`, `console`, the frozen `event`)
// that the plugin evaluates, its natives written in JavaScript here.
//
// Driven by runner/benches/run.rs over stdin/stdout, one JSON line each way:
//   {"cases": [{"name", "javascript", "event_json"}], "prelude": "..."} -> {"ready": true}
//   {"check": name}                                 -> {"outcome", "effects", "logs"}
//   {"run": name, "iters": n}                       -> {"elapsed_ns": "..."}
import vm from 'node:vm';
import readline from 'node:readline';

let prelude;
const cases = new Map();

function deepFreeze(value) {
  if (value !== null && typeof value === 'object') {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze(value[key]);
  }
  return value;
}

function newHost(eventJson) {
  const run = { outcome: null, deny: null, effects: { access: {}, id: {}, scopesAdded: [], scopesRemoved: [], app: {}, user: {} }, logs: [] };
  let settle;
  const done = new Promise((resolve) => { settle = resolve; });
  const host = {
    // The plugin's native: the event parsed and deep-frozen.
    event: () => deepFreeze(JSON.parse(eventJson)),
    log: (level, message) => { run.logs.push([level, message]); },
    allow: () => {},
    deny: (reason) => { run.deny = reason; },
    setClaim: (token, name, json) => { (token === 0 ? run.effects.access : run.effects.id)[name] = JSON.parse(json); },
    addScope: (scope) => { run.effects.scopesAdded.push(scope); },
    removeScope: (scope) => { run.effects.scopesRemoved.push(scope); },
    setMetadata: (which, key, json) => { (which === 0 ? run.effects.app : run.effects.user)[key] = JSON.parse(json); },
    // As in the library benchmark, which gives the sandbox no transport.
    fetch: () => { throw new Error('api.fetch is not available in this runner'); },
    complete: (json) => {
      const result = JSON.parse(json);
      run.outcome = result.ok ? (run.deny === null ? 'allowed' : 'denied') : 'guest_error';
      settle(run);
    },
  };
  return { host, done };
}

async function runOnce(testCase) {
  const { host, done } = newHost(testCase.event_json);
  const context = vm.createContext({});
  prelude.runInContext(context)(host);
  testCase.script.runInContext(context);
  return done;
}

const reply = (value) => process.stdout.write(JSON.stringify(value) + '\n');

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const message = JSON.parse(line);
  if (message.cases) {
    prelude = new vm.Script(message.prelude, { filename: 'prelude.js' });
    for (const c of message.cases) {
      cases.set(c.name, { ...c, script: new vm.Script(c.javascript, { filename: `${c.name}.js` }) });
    }
    reply({ ready: true });
  } else if (message.check) {
    const run = await runOnce(cases.get(message.check));
    reply({ outcome: run.outcome, effects: run.effects, logs: run.logs.length });
  } else if (message.run) {
    const testCase = cases.get(message.run);
    const started = process.hrtime.bigint();
    for (let i = 0; i < message.iters; i++) await runOnce(testCase);
    reply({ elapsed_ns: String(process.hrtime.bigint() - started) });
  }
}
