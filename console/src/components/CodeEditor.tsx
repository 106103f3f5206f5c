import { useEffect, useMemo, useRef, useState } from 'react';
import { monaco } from '../monaco';
import type { SourceProblem } from '../gen/actions/controlplane/v1/management_pb';
import { eventPaths, type EventPath } from '../eventPaths';
import { ACTIONS_D_TS } from '../starters';

type Props = {
  files: Record<string, string>;
  onChange: (path: string, text: string) => void;
  readOnly: boolean;
  /** The server's compile error, marked at its place until the text changes. */
  problem?: SourceProblem;
  configFields: { name: string; type: string }[];
  /** The names of the secrets the draft declares, for the picker. */
  secretNames: string[];
};

const uriOf = (path: string) => monaco.Uri.parse(`file:///${path}`);
const languageOf = (path: string) => (path.endsWith('.json') ? 'json' : path.endsWith('.js') ? 'javascript' : 'typescript');

/** Monaco with one model per file of the package; the declarations come from ../monaco. */
export function CodeEditor({ files, onChange, readOnly, problem, configFields, secretNames }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor>(undefined);
  const paths = useMemo(() => Object.keys(files).sort(), [files]);
  const [active, setActive] = useState(() => paths.find((p) => p === 'src/index.ts') ?? paths[0]);
  const [picker, setPicker] = useState(false);
  const latest = useRef(onChange);
  latest.current = onChange;

  // One editor for the page; models live as long as it does.
  useEffect(() => {
    const instance = monaco.editor.create(host.current!, {
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 14,
      tabSize: 2,
      scrollBeyondLastLine: false,
      ariaLabel: 'Code editor',
      fixedOverflowWidgets: true,
    });
    editor.current = instance;
    const sub = instance.onDidChangeModelContent(() => {
      const model = instance.getModel();
      if (!model) return;
      monaco.editor.setModelMarkers(model, 'server', []);
      latest.current(model.uri.path.slice(1), model.getValue());
    });
    return () => {
      sub.dispose();
      instance.dispose();
      for (const model of monaco.editor.getModels()) if (model.uri.path.startsWith('/src/')) model.dispose();
      editor.current = undefined;
    };
  }, []);

  // Files in, as models (only when the text differs: typing must not reset the cursor).
  useEffect(() => {
    for (const [path, text] of Object.entries(files)) {
      const uri = uriOf(path);
      const model = monaco.editor.getModel(uri) ?? monaco.editor.createModel(text, languageOf(path), uri);
      if (model.getValue() !== text) model.setValue(text);
    }
    for (const model of monaco.editor.getModels()) {
      const path = model.uri.path.slice(1);
      if (model.uri.path.startsWith('/src/') && !(path in files)) model.dispose();
    }
  }, [files]);

  useEffect(() => {
    const instance = editor.current;
    const model = active ? monaco.editor.getModel(uriOf(active)) : null;
    if (instance && model && instance.getModel() !== model) instance.setModel(model);
  }, [active, files]);

  useEffect(() => {
    editor.current?.updateOptions({ readOnly });
  }, [readOnly]);

  useEffect(() => {
    if (!problem) return;
    if (problem.file in files) setActive(problem.file);
    const model = monaco.editor.getModel(uriOf(problem.file));
    if (!model) return;
    monaco.editor.setModelMarkers(model, 'server', [
      {
        severity: monaco.MarkerSeverity.Error,
        message: problem.message,
        startLineNumber: problem.line,
        startColumn: problem.column,
        endLineNumber: problem.line,
        endColumn: model.getLineMaxColumn(Math.min(problem.line, model.getLineCount())),
      },
    ]);
    editor.current?.revealLineInCenter(problem.line);
    editor.current?.setPosition({ lineNumber: problem.line, column: problem.column });
  }, [problem, files]);

  const insert = (path: EventPath) => {
    setPicker(false);
    const instance = editor.current;
    if (!instance) return;
    const selection = instance.getSelection() ?? new monaco.Selection(1, 1, 1, 1);
    instance.executeEdits('event-picker', [{ range: selection, text: path.path, forceMoveMarkers: true }]);
    instance.focus();
  };

  return (
    <div className="code">
      <div className="code-bar">
        <div role="tablist" aria-label="Files">
          {paths.map((p) => (
            <button
              key={p}
              role="tab"
              type="button"
              aria-selected={p === active}
              className={p === active ? 'file active' : 'file'}
              onClick={() => setActive(p)}
            >
              {p}
            </button>
          ))}
        </div>
        <button
          type="button"
          className="secondary"
          aria-haspopup="dialog"
          aria-expanded={picker}
          onClick={() => setPicker(!picker)}
          disabled={readOnly}
        >
          {'{}'} Insert event path
        </button>
      </div>
      {picker && <EventPicker configFields={configFields} secretNames={secretNames} onPick={insert} onClose={() => setPicker(false)} />}
      <div ref={host} className="monaco-host" data-testid="code-editor" />
    </div>
  );
}

function EventPicker({
  configFields,
  secretNames,
  onPick,
  onClose,
}: {
  configFields: { name: string; type: string }[];
  secretNames: string[];
  onPick: (p: EventPath) => void;
  onClose: () => void;
}) {
  const all = useMemo(() => eventPaths(ACTIONS_D_TS, configFields, secretNames), [configFields, secretNames]);
  const [filter, setFilter] = useState('');
  const shown = all.filter((p) => p.path.toLowerCase().includes(filter.toLowerCase()));
  return (
    <div role="dialog" aria-label="Event paths" className="picker" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <input
        autoFocus
        aria-label="Filter event paths"
        placeholder="Filter, e.g. user.email"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
      />
      <ul role="listbox" aria-label="event.* paths">
        {shown.map((p) => (
          <li key={p.path} role="option" aria-selected={false}>
            <button type="button" onClick={() => onPick(p)}>
              <code>{p.path}</code> <span className="muted">{p.type}</span>
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
