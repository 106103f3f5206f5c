// Monaco, bundled (never loaded from a CDN), with its workers built by Vite,
// and the Action declarations as the TypeScript library the editor checks against.
import * as monaco from 'monaco-editor';
import EditorWorker from 'monaco-editor/editor/editor.worker.js?worker';
import TsWorker from 'monaco-editor/language/typescript/ts.worker.js?worker';
import JsonWorker from 'monaco-editor/language/json/json.worker.js?worker';
import { ACTIONS_D_TS } from './starters';

self.MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    if (label === 'typescript' || label === 'javascript') return new TsWorker();
    if (label === 'json') return new JsonWorker();
    return new EditorWorker();
  },
};

const ts = monaco.typescript;
ts.typescriptDefaults.setCompilerOptions({
  target: ts.ScriptTarget.ES2020,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.NodeJs,
  strict: true,
  noEmit: true,
  allowNonTsExtensions: true,
  lib: ['es2022'],
});
ts.typescriptDefaults.setEagerModelSync(true);

/** api methods by their author's name, e.g. "api.access.deny". */
const API_SHAPE: Record<string, string[]> = {
  access: ['allow', 'deny'],
  accessToken: ['setCustomClaim', 'addScope', 'removeScope'],
  idToken: ['setCustomClaim'],
  user: ['setAppMetadata', 'setUserMetadata'],
};

/**
 * The declarations with `Api` narrowed to what every chosen trigger allows,
 * so that calling a method one of them refuses is a type error in the editor.
 */
export function narrowedDeclarations(allowed: string[] | undefined): string {
  if (!allowed) return ACTIONS_D_TS;
  const renamed = ACTIONS_D_TS.replace('export interface Api {', 'export interface FullApi {').replace(
    /api: Api,\n\) =>/,
    'api: Api,\n) =>',
  );
  const members: string[] = [];
  for (const [group, methods] of Object.entries(API_SHAPE)) {
    const kept = methods.filter((m) => allowed.includes(`api.${group}.${m}`));
    if (kept.length) members.push(`readonly ${group}: Pick<FullApi['${group}'], ${kept.map((m) => `'${m}'`).join(' | ')}>`);
  }
  if (allowed.includes('api.fetch')) members.push(`fetch: FullApi['fetch']`);
  return `${renamed}\n/** What the chosen triggers allow (see FullApi for every method). */\nexport interface Api {\n  ${members.join(';\n  ')};\n}\n`;
}

let declarations: monaco.IDisposable | undefined;

export function setDeclarations(text: string) {
  declarations?.dispose();
  declarations = ts.typescriptDefaults.addExtraLib(text, 'file:///types/actions.d.ts');
}

setDeclarations(ACTIONS_D_TS);

export { monaco };
