import { STARTERS } from '../starters';
import { navigate } from '../session';

/** Authentication → Actions → New action: pick a starter. */
export function NewAction() {
  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New action</h1>
      <p>Pick a starter. Its code is copied as a baseline; you edit from there.</p>
      <ul className="starters">
        {STARTERS.map((s) => (
          <li key={s.id}>
            <button type="button" className="starter" onClick={() => navigate(`/actions/new/${s.id}`)}>
              <strong>{s.name}</strong>
              <span>{s.blurb}</span>
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
