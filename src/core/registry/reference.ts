/**
 * Image references ("alpine", "ghcr.io/owner/app:1.2@sha256:…") parsed and normalised the way the
 * Docker CLI does it, i.e. as `reference.ParseNormalizedNamed` in github.com/distribution/reference
 * (normalize.go, with the grammar of regexp.go and the checks of reference.go). Pure TypeScript:
 * it runs in the worker, in the page and in Node tests.
 *
 * Where Docker's own error would be cryptic ("invalid reference format") the message here says
 * what is wrong; what is accepted and what it normalises to is unchanged.
 */

export interface ImageReference {
  /** The registry as normalised: `docker.io` for Docker Hub, otherwise the host[:port] as written. */
  registry: string;
  /** The host[:port] to contact: `registry-1.docker.io` for `docker.io`, otherwise `registry` lower-cased. */
  endpoint: string;
  /** The repository path on that registry, e.g. `library/alpine`. */
  repository: string;
  /** The tag; `latest` when the input had neither tag nor digest; null when only a digest was given. */
  tag: string | null;
  /** The digest when one was given. When both are given the digest is what gets fetched. */
  digest: string | null;
  /**
   * Docker's familiar form (FamiliarString): `docker.io/` and a lone `library/` dropped, with the
   * same tag and digest as `canonical` (so `alpine` gives `alpine:latest`).
   */
  familiar: string;
  /** `registry/repository[:tag][@digest]`, e.g. `docker.io/library/alpine:latest`. */
  canonical: string;
}

export type ParseReferenceResult = { ok: true; ref: ImageReference } | { ok: false; error: string };

// normalize.go
const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const DEFAULT_TAG = 'latest';
const LOCALHOST = 'localhost';
/**
 * docker.io is a name, not a server: the Docker CLI talks to registry-1.docker.io (the "Note that
 * actual domain of Docker Hub's registry is registry-1.docker.io" comment in normalize.go).
 */
const DOCKER_HUB_ENDPOINT = 'registry-1.docker.io';

// reference.go: RepositoryNameTotalLengthMax, applied to the path without the domain.
const REPOSITORY_NAME_TOTAL_LENGTH_MAX = 255;

// regexp.go, term for term. JavaScript's \w, like RE2's, is ASCII [0-9A-Za-z_].
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}${optionalPort}`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;
const anchoredTagRegexp = new RegExp(`^${tagPat}$`);
const anchoredDigestRegexp = new RegExp(`^${digestPat}$`);
const anchoredPathComponent = new RegExp(`^${pathComponent}$`);
const anchoredDomainAndPort = new RegExp(`^${domainAndPort}$`);

/**
 * The algorithms go-digest registers when Docker imports crypto/sha256 and crypto/sha512, with
 * the length of their hex encoding. Their encoded part must be lower-case hex (go-digest's
 * anchoredEncodedRegexps).
 */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Parses `input` as `docker pull` would; never throws. */
export function parseReference(input: string): ParseReferenceResult {
  if (input === '')
    return fail('The reference is empty: give an image such as "alpine" or "ghcr.io/owner/app:1.0".');

  // normalize.go refuses a bare 64-hex string, which would otherwise name a repository that
  // looks exactly like an image ID.
  if (anchoredIdentifierRegexp.test(input)) {
    return fail(
      `"${input}" is a 64-character hexadecimal string, which looks like an image ID, not a repository name. ` +
        'To pick an image by digest, write name@sha256:<hex>.',
    );
  }

  const [domain, remainder] = splitDockerDomain(input);

  // normalize.go checks the remote name (everything up to the first ":") for upper case before
  // parsing. An upper-case letter after "@" and before ":" is a digest algorithm, which no
  // registered algorithm matches, so checking the name only up to "@" refuses the same inputs
  // with a message that points at the right part.
  const nameEnd = firstIndexOf(remainder, [':', '@']);
  const remote = remainder.slice(0, nameEnd);
  if (remote.toLowerCase() !== remote) {
    // Show the name as typed, without the "library/" that normalisation may have added.
    const shown = input.includes('/') ? remote : remote.slice(OFFICIAL_REPO_PREFIX.length);
    return fail(`Repository names must be lower-case: "${shown}" has upper-case letters.`);
  }

  return parse(`${domain}/${remainder}`, input);
}

/** splitDockerDomain from normalize.go (distribution/reference v0.6). */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  if (slash === -1) {
    // A single element ("ubuntu", "ubuntu:22.04", even "localhost" or "example.com") is always a
    // familiar Docker Hub name, so that "name:tag" is never taken for "host:port".
    return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  }
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === LOCALHOST) {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    [domain, remote] = [DEFAULT_DOMAIN, maybeRemote];
  } else if (maybeDomain.includes('.') || maybeDomain.includes(':')) {
    // "example.com", "127.0.0.1", "example:5000", "[::1]:5000".
    [domain, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain.toLowerCase() !== maybeDomain) {
    // Namespaces cannot be upper-case, so Docker takes an upper-case first element for a host
    // ("Foo/bar" is the repository "bar" on the host "Foo").
    [domain, remote] = [maybeDomain, maybeRemote];
  } else {
    [domain, remote] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

/** reference.Parse on the normalised string, plus TagNameOnly's default tag. */
function parse(s: string, input: string): ParseReferenceResult {
  const match = referenceRegexp.exec(s);
  if (!match) {
    const lower = s.toLowerCase();
    if (lower !== s && referenceRegexp.test(lower)) {
      return fail(`Repository names must be lower-case: "${input}" has upper-case letters in its name.`);
    }
    return fail(diagnose(input));
  }
  const name = match[1] ?? '';
  const tag = match[2] ?? null;
  const digest = match[3] ?? null;

  const nameMatch = anchoredNameRegexp.exec(name);
  const domain = nameMatch?.[1];
  const path = nameMatch?.[2];
  if (domain === undefined || path === undefined) {
    // distribution/reference would return a name with an empty domain here (e.g. "foo_bar.com/x",
    // whose "_" no host name may contain), which no client can contact.
    const first = input.slice(0, input.indexOf('/'));
    return fail(`"${first}" is not a valid registry host name.`);
  }
  if (path.length > REPOSITORY_NAME_TOTAL_LENGTH_MAX) {
    return fail(
      `The repository name is ${path.length} characters long; at most ${REPOSITORY_NAME_TOTAL_LENGTH_MAX} are allowed.`,
    );
  }
  if (digest !== null) {
    const problem = validateDigest(digest);
    if (problem) return fail(problem);
  }

  const effectiveTag = tag ?? (digest === null ? DEFAULT_TAG : null);
  const suffix = (effectiveTag !== null ? `:${effectiveTag}` : '') + (digest !== null ? `@${digest}` : '');
  return {
    ok: true,
    ref: {
      registry: domain,
      endpoint: domain === DEFAULT_DOMAIN ? DOCKER_HUB_ENDPOINT : domain.toLowerCase(),
      repository: path,
      tag: effectiveTag,
      digest,
      familiar: familiarName(domain, path) + suffix,
      canonical: `${domain}/${path}${suffix}`,
    },
  };
}

/** familiarizeName from normalize.go. */
function familiarName(domain: string, path: string): string {
  if (domain !== DEFAULT_DOMAIN) return `${domain}/${path}`;
  if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return path;
}

/** go-digest's Digest.Validate, for a string that already matched the reference grammar. */
function validateDigest(digest: string): string | null {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const encoded = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) {
    return `Unsupported digest algorithm "${algorithm}": use sha256, sha384 or sha512.`;
  }
  if (encoded.length !== length) {
    return `A ${algorithm} digest has ${length} hexadecimal characters; "${digest}" has ${encoded.length}.`;
  }
  if (!/^[a-f0-9]+$/.test(encoded)) {
    return `Digest "${digest}" must be lower-case hexadecimal after "${algorithm}:".`;
  }
  return null;
}

/**
 * Says which part of a reference that failed the grammar is wrong. Best effort: it only shapes
 * the message, never the verdict.
 */
function diagnose(input: string): string {
  const generic = `"${input}" is not a valid image reference (expected [host[:port]/]name[:tag][@digest]).`;
  if (/\s/.test(input)) return `"${input}" contains white space, which an image reference cannot.`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    return `"${input}" is a URL: write the reference without a scheme, e.g. "ghcr.io/owner/app:1.0".`;
  }

  if (!input.includes('/') && input.startsWith('[')) {
    return `"${input}" looks like a registry host without a repository: write it as host/name, e.g. "[::1]:5000/app".`;
  }

  let rest = input;
  const at = rest.indexOf('@');
  if (at !== -1) {
    const digest = rest.slice(at + 1);
    if (!anchoredDigestRegexp.test(digest)) {
      return `"${digest}" is not a valid digest: expected algorithm:hex, e.g. sha256: and 64 hexadecimal characters.`;
    }
    rest = rest.slice(0, at);
  }

  // A ":" after the last "/" starts a tag (a ":" before it belongs to host:port).
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon !== -1) {
    const tag = rest.slice(colon + 1);
    if (!anchoredTagRegexp.test(tag)) {
      return (
        `"${tag}" is not a valid tag: a tag has 1 to 128 letters, digits, "_", "." or "-" ` +
        'and cannot start with "." or "-".'
      );
    }
    rest = rest.slice(0, colon);
  }
  if (rest === '') return 'The reference has no repository name.';

  const components = rest.split('/');
  const [first] = components;
  const hasDomain =
    components.length > 1 &&
    first !== undefined &&
    (first === LOCALHOST || /[.:]/.test(first) || first.toLowerCase() !== first);
  if (hasDomain && first !== undefined && !anchoredDomainAndPort.test(first)) {
    return `"${first}" is not a valid registry host[:port] (IPv6 addresses go in brackets, e.g. [::1]:5000).`;
  }
  for (const component of hasDomain ? components.slice(1) : components) {
    if (!anchoredPathComponent.test(component)) {
      return component === ''
        ? `"${input}" has an empty path component (a leading, trailing or doubled "/").`
        : `"${component}" is not a valid repository path component: use lower-case letters and digits, ` +
            'separated by single ".", "_" or "__", or by dashes.';
    }
  }
  return generic;
}

function firstIndexOf(s: string, chars: string[]): number {
  let index = s.length;
  for (const c of chars) {
    const i = s.indexOf(c);
    if (i !== -1 && i < index) index = i;
  }
  return index;
}

function fail(error: string): ParseReferenceResult {
  return { ok: false, error };
}
