import { useRef, useState } from 'react';
import { explain, type ApiClients } from '../api';

/** External package: a .tar.gz made by `action pack`, uploaded as a new Action or version. */
export function UploadPackage({ api, onUploaded }: { api: ApiClients; onUploaded: (slug: string) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<{ busy?: boolean; problem?: string }>({});
  const upload = async (file: File) => {
    setState({ busy: true });
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const saved = await api.actions.uploadPackage({ packageTarGz: bytes });
      setState({});
      onUploaded(saved.action?.slug ?? '');
    } catch (error) {
      setState({ problem: `${file.name}: ${explain(error)}` });
    } finally {
      if (input.current) input.current.value = '';
    }
  };
  return (
    <div className="upload">
      <button type="button" className="secondary" disabled={state.busy} onClick={() => input.current?.click()}>
        {state.busy ? 'Uploading…' : 'Upload package'}
      </button>
      <input
        id="package-file"
        ref={input}
        aria-label="Package file (.tar.gz)"
        tabIndex={-1}
        className="visually-hidden"
        type="file"
        accept=".tar.gz,.tgz,application/gzip"
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void upload(file);
        }}
      />
      {state.problem && (
        <p role="alert" className="error">
          {state.problem}
        </p>
      )}
    </div>
  );
}
