/**
 * parseReference against the cases of distribution/reference's own tables (reference_test.go:
 * TestReferenceParse; normalize_test.go: TestValidateReferenceName, TestValidateRemoteName,
 * TestParseRepositoryInfo, TestParseReferenceWithTagAndDigest, TestParseAnyReference,
 * TestNormalizedSplitHostname; ParseDockerRef's table), each run through ParseNormalizedNamed, so
 * the expected value is what the Docker CLI makes of the input.
 */
import { describe, expect, it } from 'vitest';
import { parseReference, type ImageReference } from '../../src/core/registry/reference';

const F64 = 'f'.repeat(64);
const F128 = 'f'.repeat(128);
const HEX64 = '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a';
const BUSYBOX = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
const REDIS = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';

/** Builds the expected result from registry, repository, tag and digest. */
function expected(
  registry: string,
  repository: string,
  tag: string | null,
  digest: string | null,
  familiar: string,
): ImageReference {
  const suffix = (tag !== null ? `:${tag}` : '') + (digest !== null ? `@${digest}` : '');
  return {
    registry,
    endpoint: registry === 'docker.io' ? 'registry-1.docker.io' : registry.toLowerCase(),
    repository,
    tag,
    digest,
    familiar: familiar + suffix,
    canonical: `${registry}/${repository}${suffix}`,
  };
}

const hub = (
  repository: string,
  tag: string | null = 'latest',
  digest: string | null = null,
): ImageReference =>
  expected(
    'docker.io',
    repository,
    tag,
    digest,
    repository.startsWith('library/') && repository.split('/').length === 2
      ? repository.slice('library/'.length)
      : repository,
  );
const at = (
  registry: string,
  repository: string,
  tag: string | null = 'latest',
  digest: string | null = null,
): ImageReference => expected(registry, repository, tag, digest, `${registry}/${repository}`);

const valid: Array<[string, ImageReference]> = [
  // TestParseRepositoryInfo: familiar, full and ambiguous spellings of the same names.
  ['fooo/bar', hub('fooo/bar')],
  ['docker.io/fooo/bar', hub('fooo/bar')],
  ['index.docker.io/fooo/bar', hub('fooo/bar')],
  ['ubuntu', hub('library/ubuntu')],
  ['library/ubuntu', hub('library/ubuntu')],
  ['docker.io/library/ubuntu', hub('library/ubuntu')],
  ['nonlibrary/ubuntu', hub('nonlibrary/ubuntu')],
  ['other/library', hub('other/library')],
  ['127.0.0.1:8000/private/moonbase', at('127.0.0.1:8000', 'private/moonbase')],
  ['127.0.0.1:8000/privatebase', at('127.0.0.1:8000', 'privatebase')],
  ['example.com/private/moonbase', at('example.com', 'private/moonbase')],
  ['example.com:8000/privatebasee', at('example.com:8000', 'privatebasee')],
  ['ubuntu-12.04-base', hub('library/ubuntu-12.04-base')],
  ['index.docker.io/library/ubuntu-12.04-base', hub('library/ubuntu-12.04-base')],
  ['docker.io/foo', hub('library/foo')],
  ['library/foo/bar', hub('library/foo/bar')],
  ['store/foo/bar', hub('store/foo/bar')],
  // An upper-case first element is taken for a host name.
  ['Foo/bar', at('Foo', 'bar')],
  ['FOO/bar', at('FOO', 'bar')],
  ['Docker/docker', at('Docker', 'docker')],

  // TestParseReferenceWithTagAndDigest: both are kept; the digest is what gets fetched.
  [`busybox:latest@${BUSYBOX}`, hub('library/busybox', 'latest', BUSYBOX)],

  // TestParseAnyReference (the named cases).
  ['redis:latest', hub('library/redis')],
  [`redis@${REDIS}`, hub('library/redis', null, REDIS)],
  [`docker.io/library/redis@${REDIS}`, hub('library/redis', null, REDIS)],
  ['dmcgowan/myapp:latest', hub('dmcgowan/myapp')],
  [`dmcgowan/myapp@${REDIS}`, hub('dmcgowan/myapp', null, REDIS)],
  [HEX64.slice(0, 63), hub(`library/${HEX64.slice(0, 63)}`)],
  ['dbcc1', hub('library/dbcc1')],
  // With a host the 64-hex name is unambiguous (TestValidateReferenceName).
  [`docker.io/${HEX64}`, hub(`library/${HEX64}`)],
  // A bare digest is a familiar name "sha256" tagged with the hex, as docker pull reads it.
  [REDIS, hub('library/sha256', REDIS.slice('sha256:'.length))],

  // TestNormalizedSplitHostname.
  ['test.com/foo', at('test.com', 'foo')],
  ['test_com/foo', hub('test_com/foo')],
  ['docker/migrator', hub('docker/migrator')],
  ['test.com:8080/foo', at('test.com:8080', 'foo')],
  ['test-com:8080/foo', at('test-com:8080', 'foo')],
  ['xn--n3h.com/foo', at('xn--n3h.com', 'foo')],
  ['xn--n3h.com:18080/foo', at('xn--n3h.com:18080', 'foo')],
  ['docker.io/library/foo/bar', hub('library/foo/bar')],

  // TestReferenceParse, normalised.
  ['test_com', hub('library/test_com')],
  ['test.com:tag', hub('library/test.com', 'tag')],
  ['test.com:5000', hub('library/test.com', '5000')],
  ['test.com/repo:tag', at('test.com', 'repo', 'tag')],
  ['test:5000/repo', at('test:5000', 'repo')],
  ['test:5000/repo:tag', at('test:5000', 'repo', 'tag')],
  [`test:5000/repo@sha256:${F64}`, at('test:5000', 'repo', null, `sha256:${F64}`)],
  [`test:5000/repo:tag@sha256:${F64}`, at('test:5000', 'repo', 'tag', `sha256:${F64}`)],
  ['lowercase:Uppercase', hub('library/lowercase', 'Uppercase')],
  [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, hub(`${'a/'.repeat(127)}a`, 'tag-puts-this-over-max')],
  [`example.com/${'a'.repeat(255)}:tag`, at('example.com', 'a'.repeat(255), 'tag')],
  ['sub-dom1.foo.com/bar/baz/quux', at('sub-dom1.foo.com', 'bar/baz/quux')],
  ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', at('sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag')],
  [
    'b.gcr.io/test.example.com/my-app:test.example.com',
    at('b.gcr.io', 'test.example.com/my-app', 'test.example.com'),
  ],
  ['xn--n3h.com/myimage:xn--n3h.com', at('xn--n3h.com', 'myimage', 'xn--n3h.com')],
  [
    `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${F128}`,
    at('xn--7o8h.com', 'myimage', 'xn--7o8h.com', `sha512:${F128}`),
  ],
  ['foo_bar.com:8080', hub('library/foo_bar.com', '8080')],
  ['foo/foo_bar.com:8080', hub('foo/foo_bar.com', '8080')],
  ['192.168.1.1', hub('library/192.168.1.1')],
  ['192.168.1.1:tag', hub('library/192.168.1.1', 'tag')],
  ['192.168.1.1:5000', hub('library/192.168.1.1', '5000')],
  ['192.168.1.1/repo', at('192.168.1.1', 'repo')],
  ['192.168.1.1:5000/repo', at('192.168.1.1:5000', 'repo')],
  ['192.168.1.1:5000/repo:5050', at('192.168.1.1:5000', 'repo', '5050')],
  ['[2001:db8::1]/repo', at('[2001:db8::1]', 'repo')],
  ['[2001:db8:1:2:3:4:5:6]/repo:tag', at('[2001:db8:1:2:3:4:5:6]', 'repo', 'tag')],
  ['[2001:db8::1]:5000/repo', at('[2001:db8::1]:5000', 'repo')],
  [`[2001:db8::1]:5000/repo@sha256:${F64}`, at('[2001:db8::1]:5000', 'repo', null, `sha256:${F64}`)],
  [`[2001:db8::1]:5000/repo:tag@sha256:${F64}`, at('[2001:db8::1]:5000', 'repo', 'tag', `sha256:${F64}`)],
  ['[2001:db8::]:5000/repo', at('[2001:db8::]:5000', 'repo')],
  ['[::1]:5000/repo', at('[::1]:5000', 'repo')],

  // TestValidateReferenceName / TestValidateRemoteName (valid ones).
  ['192.168.0.1:80', hub('library/192.168.0.1', '80')],
  ['192.168.0.1:8/debian', at('192.168.0.1:8', 'debian')],
  ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', at('[fc00:1:2:3:4:5:6:7]:5000', 'library/debian')],
  [
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    hub('library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev'),
  ],
  ['docker---rules/docker', hub('docker---rules/docker')],
  ['dock__er/docker', hub('dock__er/docker')],
  ['d/docker', hub('d/docker')],
  ['jess/t', hub('jess/t')],

  // ParseDockerRef's table (the tag is kept here, as ParseNormalizedNamed keeps it).
  ['gcr.io/library/busybox', at('gcr.io', 'library/busybox')],
  [
    'gcr.io/library/busybox:latest@sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582',
    at(
      'gcr.io',
      'library/busybox',
      'latest',
      'sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582',
    ),
  ],

  // localhost is a host only before a "/".
  ['localhost/foo', at('localhost', 'foo')],
  ['localhost:5000/foo:1', at('localhost:5000', 'foo', '1')],
  ['localhost', hub('library/localhost')],
  [`alpine:${'t'.repeat(128)}`, hub('library/alpine', 't'.repeat(128))],
];

const invalid: Array<[string, RegExp]> = [
  ['', /empty/],
  [':justtag', /no repository name/],
  [`@sha256:${F64}`, /no repository name/],
  ['repo@sha256:ffffffffffffffffffffffffffffffffff', /64 hexadecimal characters; .* has 34/],
  [`validname@invaliddigest:${F64}`, /Unsupported digest algorithm "invaliddigest"/],
  [`busybox@sha256:${F64.toUpperCase()}`, /lower-case hexadecimal/],
  ['Uppercase:tag', /lower-case: "Uppercase"/],
  ['test:5000/Uppercase/lowercase:tag', /lower-case: "Uppercase\/lowercase"/],
  ['docker/Docker', /lower-case/],
  ['docker.io/docker/Docker', /lower-case/],
  [`domain/${'a'.repeat(256)}:tag`, /263 characters long; at most 255/],
  [
    'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker',
    /at most 255/,
  ],
  ['aa/asdf$$^/aa', /"asdf\$\$\^" is not a valid repository path component/],
  ['[2001:db8::1]', /registry host without a repository/],
  ['[2001:db8::1]:5000', /registry host without a repository/],
  ['[2001:db8::1]:tag', /registry host without a repository/],
  ['[fe80::1%eth0]:5000/repo', /not a valid registry host/],
  ['[fe80::1%@invalidzone]:5000/repo', /not a valid/],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', /not a valid registry host/],
  ['fc00::1:5000/debian', /not a valid registry host/],
  ['https://github.com/docker/docker', /is a URL/],
  ['-docker', /"-docker" is not a valid repository path component/],
  ['-docker/docker', /"-docker" is not a valid repository path component/],
  ['-docker.io/docker/docker', /"-docker.io" is not a valid registry host/],
  ['docker-/docker', /"docker-" is not a valid repository path component/],
  ['-docker-/docker', /not a valid repository path component/],
  ['____/____', /not a valid repository path component/],
  ['_docker/_docker', /not a valid repository path component/],
  // A first element with a "." is a host name for Docker, so these fail as hosts.
  ['dock..er/docker', /"dock..er" is not a valid registry host/],
  ['dock_.er/docker', /"dock_.er" is not a valid registry host/],
  ['dock-.er/docker', /"dock-.er" is not a valid registry host/],
  ['docker///docker', /empty path component/],
  ['docker.io/docker///docker', /empty path component/],
  ['docker/', /empty path component/],
  [HEX64, /64-character hexadecimal string/],
  ['foo_bar.com/x', /"foo_bar.com" is not a valid registry host name/],
  [`alpine:${'t'.repeat(129)}`, /not a valid tag/],
  ['alpine:.hidden', /"\.hidden" is not a valid tag/],
  ['alpine:-dash', /not a valid tag/],
  ['alpine@sha256:abc', /"sha256:abc" is not a valid digest/],
  ['alpine:3.20 ', /white space/],
];

describe('parseReference: valid references normalise as ParseNormalizedNamed does', () => {
  it.each(valid)('%s', (input, ref) => {
    expect(parseReference(input)).toEqual({ ok: true, ref });
  });
});

describe('parseReference: invalid references are refused with a clear message', () => {
  it.each(invalid)('%s', (input, message) => {
    const result = parseReference(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});

describe('parseReference: details', () => {
  it('adds latest only when there is neither tag nor digest', () => {
    const digestOnly = parseReference(`alpine@${REDIS}`);
    expect(digestOnly.ok && digestOnly.ref.tag).toBe(null);
    const plain = parseReference('alpine');
    expect(plain.ok && plain.ref.canonical).toBe('docker.io/library/alpine:latest');
  });

  it('contacts registry-1.docker.io for Docker Hub and the named host otherwise', () => {
    const hubRef = parseReference('index.docker.io/library/alpine');
    expect(hubRef.ok && [hubRef.ref.registry, hubRef.ref.endpoint]).toEqual([
      'docker.io',
      'registry-1.docker.io',
    ]);
    const v6 = parseReference('[::1]:5000/test/app:1');
    expect(v6.ok && v6.ref.endpoint).toBe('[::1]:5000');
  });
});
