// Slugs as the control plane and `action init` accept them.

/** A slug from a name: lower-case letters, digits and '-', at most 64. */
export function slugOf(name: string): string {
  let slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  slug = slug.slice(0, 64).replace(/-$/, '');
  return slug;
}

export function isValidSlug(slug: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(slug);
}

/** A semver version, or why not. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function compareVersions(a: [number, number, number], b: [number, number, number]): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function bumpPatch(version: string): string {
  const v = parseVersion(version);
  return v ? `${v[0]}.${v[1]}.${v[2] + 1}` : '0.1.0';
}

/** Why `candidate` cannot be the next version, given those that exist; undefined when it can. */
export function versionProblem(candidate: string, existing: string[]): string | undefined {
  const v = parseVersion(candidate);
  if (!v) return `"${candidate}" is not a version like 1.4.2`;
  if (existing.includes(candidate.trim())) return `${candidate} exists already: pick a higher one`;
  const parsed = existing.map(parseVersion).filter((x): x is [number, number, number] => !!x);
  const highest = parsed.sort(compareVersions).at(-1);
  if (highest && compareVersions(v, highest) <= 0) {
    return `${candidate} is not above the latest, ${highest.join('.')}`;
  }
  return undefined;
}
