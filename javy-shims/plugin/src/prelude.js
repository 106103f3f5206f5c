// The JavaScript half of the Actions plugin, evaluated once under Wizer.
//
// Everything an Action can reach (`api`, `console`, the frozen `event`) is
// built here from intrinsics captured before any Action code exists, so that
// an Action which later replaces `JSON`, `Object.freeze` or
// `Promise.prototype.then`, or pollutes `Object.prototype`, changes nothing
// the host receives. The natives in `host` are reachable from this closure
// only.
(function install(host) {
  'use strict';

  const G = globalThis;
  const ObjectCtor = Object;
  const freeze = ObjectCtor.freeze;
  const keys = ObjectCtor.keys;
  const defineProperty = ObjectCtor.defineProperty;
  const isFrozen = ObjectCtor.isFrozen;
  const create = ObjectCtor.create;
  const isArray = Array.isArray;
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  const StringCtor = String;
  const NumberIsFinite = Number.isFinite;
  const TypeErrorCtor = TypeError;
  const PromiseCtor = Promise;
  const call = Function.prototype.call;
  const bind = Function.prototype.bind;
  const uncurry = (fn) => call.bind(fn);
  const then = uncurry(PromiseCtor.prototype.then);
  const resolve = bind.call(PromiseCtor.resolve, PromiseCtor);
  const reject = bind.call(PromiseCtor.reject, PromiseCtor);
  const push = uncurry(Array.prototype.push);
  const join = uncurry(Array.prototype.join);
  const toLowerCase = uncurry(StringCtor.prototype.toLowerCase);
  const dateToIso = uncurry(Date.prototype.toISOString);
  const dateGetTime = uncurry(Date.prototype.getTime);
  const errorToString = uncurry(Error.prototype.toString);
  const symbolToString = uncurry(Symbol.prototype.toString);

  const MAX_DEPTH = 64;
  const LEVEL = freeze({ log: 0, info: 1, warn: 2, error: 3, debug: 4 });
  const TOKEN = freeze({ access: 0, id: 1 });
  const METADATA = freeze({ app: 0, user: 1 });

  function isDate(value) {
    try {
      dateGetTime(value);
      return true;
    } catch {
      return false;
    }
  }

  function deepFreeze(value) {
    if (value !== null && typeof value === 'object' && !isFrozen(value)) {
      freeze(value);
      const names = keys(value);
      for (let i = 0; i < names.length; i++) deepFreeze(value[names[i]]);
    }
    return value;
  }

  // JSON of own enumerable data only: no `toJSON`, nothing inherited.
  function serialise(value, what, seen, depth) {
    switch (typeof value) {
      case 'string':
        return jsonStringify(value);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'number':
        return NumberIsFinite(value) ? StringCtor(value) : 'null';
      case 'object': {
        if (value === null) return 'null';
        if (isDate(value)) return jsonStringify(dateToIso(value));
        if (depth >= MAX_DEPTH) throw new TypeErrorCtor(`${what} is nested deeper than ${MAX_DEPTH} levels`);
        for (let i = 0; i < seen.length; i++) {
          if (seen[i] === value) throw new TypeErrorCtor(`${what} contains a circular reference`);
        }
        push(seen, value);
        const parts = [];
        if (isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const item = serialise(value[i], what, seen, depth + 1);
            push(parts, item === undefined ? 'null' : item);
          }
          seen.length -= 1;
          return '[' + join(parts, ',') + ']';
        }
        const names = keys(value);
        for (let i = 0; i < names.length; i++) {
          const item = serialise(value[names[i]], what, seen, depth + 1);
          if (item !== undefined) push(parts, jsonStringify(names[i]) + ':' + item);
        }
        seen.length -= 1;
        return '{' + join(parts, ',') + '}';
      }
      case 'bigint':
        throw new TypeErrorCtor(`${what} contains a BigInt, which JSON cannot hold`);
      default:
        return undefined;
    }
  }

  function toJson(value, what) {
    const json = serialise(value, what, [], 0);
    if (json === undefined) throw new TypeErrorCtor(`${what} must be JSON-serialisable, got ${typeof value}`);
    return json;
  }

  function requireString(value, what) {
    if (typeof value !== 'string') throw new TypeErrorCtor(`${what} must be a string, got ${describeType(value)}`);
    return value;
  }

  function describeType(value) {
    return value === null ? 'null' : isArray(value) ? 'array' : typeof value;
  }

  // Human-readable rendering for console output: JSON-like, depth-limited,
  // cycle-safe, and never throwing.
  function inspect(value, seen, depth) {
    switch (typeof value) {
      case 'string':
        return depth === 0 ? value : jsonStringify(value);
      case 'undefined':
        return 'undefined';
      case 'bigint':
        return StringCtor(value) + 'n';
      case 'symbol':
        return symbolToString(value);
      case 'function':
        return '[Function' + (value.name ? ': ' + value.name : ' (anonymous)') + ']';
      case 'object': {
        if (value === null) return 'null';
        if (isDate(value)) return dateToIso(value);
        if (value instanceof Error) {
          const stack = value.stack;
          return errorToString(value) + (typeof stack === 'string' && stack ? '\n' + stack : '');
        }
        for (let i = 0; i < seen.length; i++) if (seen[i] === value) return '[Circular]';
        if (depth > 4) return isArray(value) ? '[Array]' : '[Object]';
        push(seen, value);
        const parts = [];
        if (isArray(value)) {
          const shown = value.length < 100 ? value.length : 100;
          for (let i = 0; i < shown; i++) push(parts, inspect(value[i], seen, depth + 1));
          if (value.length > shown) push(parts, `... ${value.length - shown} more`);
          seen.length -= 1;
          return '[' + join(parts, ', ') + ']';
        }
        const names = keys(value);
        const shown = names.length < 100 ? names.length : 100;
        for (let i = 0; i < shown; i++) {
          push(parts, names[i] + ': ' + inspect(value[names[i]], seen, depth + 1));
        }
        if (names.length > shown) push(parts, `... ${names.length - shown} more`);
        seen.length -= 1;
        return parts.length ? '{ ' + join(parts, ', ') + ' }' : '{}';
      }
      default:
        return StringCtor(value);
    }
  }

  function render(args) {
    const parts = [];
    for (let i = 0; i < args.length; i++) {
      try {
        push(parts, inspect(args[i], [], 0));
      } catch {
        push(parts, '[unprintable]');
      }
    }
    return join(parts, ' ');
  }

  function logger(level) {
    return function (...args) {
      host.log(level, render(args));
    };
  }

  const consoleObject = freeze({
    log: logger(LEVEL.log),
    info: logger(LEVEL.info),
    warn: logger(LEVEL.warn),
    error: logger(LEVEL.error),
    debug: logger(LEVEL.debug),
  });

  const ALLOW = freeze({ decision: 'allow' });
  const DENY = freeze({ decision: 'deny' });

  function fetchRequest(url, init) {
    requireString(url, 'api.fetch(url, init): url');
    const options = init === undefined || init === null ? {} : init;
    if (typeof options !== 'object') throw new TypeErrorCtor('api.fetch(url, init): init must be an object');
    const request = { url };
    if (options.method !== undefined) request.method = requireString(options.method, 'api.fetch: init.method');
    if (options.headers !== undefined) {
      const headers = {};
      const names = keys(options.headers);
      for (let i = 0; i < names.length; i++) {
        headers[names[i]] = requireString(options.headers[names[i]], `api.fetch: header ${names[i]}`);
      }
      request.headers = headers;
    }
    if (options.body !== undefined && options.body !== null) {
      request.body = requireString(options.body, 'api.fetch: init.body');
    }
    if (options.timeout !== undefined) {
      if (typeof options.timeout !== 'number' || !(options.timeout > 0)) {
        throw new TypeErrorCtor('api.fetch: init.timeout must be a positive number of milliseconds');
      }
      request.timeout_ms = options.timeout;
    }
    return toJson(request, 'api.fetch request');
  }

  function makeResponse(raw) {
    const body = raw.body;
    const headers = create(null);
    const names = keys(raw.headers);
    for (let i = 0; i < names.length; i++) headers[toLowerCase(names[i])] = raw.headers[names[i]];
    defineProperty(headers, 'get', {
      value: (name) => {
        const value = headers[toLowerCase(requireString(name, 'headers.get(name): name'))];
        return typeof value === 'string' ? value : null;
      },
    });
    return freeze({
      status: raw.status,
      ok: raw.status >= 200 && raw.status <= 299,
      headers: freeze(headers),
      text: () => resolve(body),
      json: () => {
        try {
          return resolve(jsonParse(body));
        } catch (e) {
          return reject(e);
        }
      },
    });
  }

  const api = deepFreeze({
    access: {
      allow() {
        host.allow();
        return ALLOW;
      },
      deny(reason) {
        host.deny(reason === undefined ? '' : requireString(reason, 'api.access.deny(reason): reason'));
        return DENY;
      },
    },
    accessToken: {
      setCustomClaim(name, value) {
        host.setClaim(
          TOKEN.access,
          requireString(name, 'api.accessToken.setCustomClaim(name, value): name'),
          toJson(value, 'api.accessToken.setCustomClaim(name, value): value'),
        );
      },
      addScope(scope) {
        host.addScope(requireString(scope, 'api.accessToken.addScope(scope): scope'));
      },
      removeScope(scope) {
        host.removeScope(requireString(scope, 'api.accessToken.removeScope(scope): scope'));
      },
    },
    idToken: {
      setCustomClaim(name, value) {
        host.setClaim(
          TOKEN.id,
          requireString(name, 'api.idToken.setCustomClaim(name, value): name'),
          toJson(value, 'api.idToken.setCustomClaim(name, value): value'),
        );
      },
    },
    user: {
      setAppMetadata(key, value) {
        host.setMetadata(
          METADATA.app,
          requireString(key, 'api.user.setAppMetadata(key, value): key'),
          toJson(value, 'api.user.setAppMetadata(key, value): value'),
        );
      },
      setUserMetadata(key, value) {
        host.setMetadata(
          METADATA.user,
          requireString(key, 'api.user.setUserMetadata(key, value): key'),
          toJson(value, 'api.user.setUserMetadata(key, value): value'),
        );
      },
    },
    fetch(url, init) {
      try {
        return resolve(makeResponse(jsonParse(host.fetch(fetchRequest(url, init)))));
      } catch (e) {
        return reject(e);
      }
    },
  });

  function describeError(error) {
    try {
      if (error !== null && typeof error === 'object') {
        const name = error.name;
        const message = error.message;
        const stack = error.stack;
        return {
          name: typeof name === 'string' ? name : 'Error',
          message: typeof message === 'string' ? message : inspect(error, [], 1),
          stack: typeof stack === 'string' ? stack : '',
        };
      }
      return { name: 'NonErrorThrown', message: 'threw a non-Error value: ' + inspect(error, [], 1), stack: '' };
    } catch {
      return { name: 'NonErrorThrown', message: 'threw a value that cannot be described', stack: '' };
    }
  }

  let started = false;

  // Called by the bundle's last statement with a loader of the Action's
  // modules. Module evaluation, `execute` and every awaited step run inside
  // one promise, so that any throw comes back as a value with its stack.
  function start(load) {
    if (started) throw new TypeErrorCtor('a run has already started');
    started = true;
    const run = async () => {
      const exports = await load();
      const execute = exports.execute;
      if (typeof execute !== 'function') {
        throw new TypeErrorCtor('the Action does not export a function named `execute`');
      }
      const event = host.event();
      return execute(event, api);
    };
    then(
      run(),
      () => host.complete('{"ok":true}'),
      (error) => host.complete(toJson({ ok: false, error: describeError(error) }, 'error report')),
    );
  }

  defineProperty(G, '__actions_start', { value: start, writable: false, configurable: false, enumerable: false });
  defineProperty(G, 'console', { value: consoleObject, writable: false, configurable: false, enumerable: false });
});
