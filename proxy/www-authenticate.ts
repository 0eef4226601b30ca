/**
 * Just enough of RFC 9110 §11.6.1 (WWW-Authenticate) to find and replace the `realm` of Bearer
 * challenges, leaving every other byte of the header as the registry sent it.
 *
 *   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 *   auth-param = token BWS "=" BWS ( token / quoted-string )
 */

export interface AuthParam {
  /** The auth-scheme of the challenge the parameter belongs to, as written. */
  scheme: string;
  /** Parameter name, lower-cased (names are case-insensitive). */
  name: string;
  /** The value, unquoted and unescaped. */
  value: string;
  /** Where the value (with its quotes, if any) starts and ends in the header. */
  start: number;
  end: number;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseAuthParams(header: string): AuthParam[] {
  const params: AuthParam[] = [];
  let scheme = '';
  let i = 0;
  const n = header.length;
  const skipSpace = (): void => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };

  while (i < n) {
    while (i < n && (header[i] === ' ' || header[i] === '\t' || header[i] === ',')) i++;
    const tokenStart = i;
    while (i < n && TCHAR.test(header[i] ?? '')) i++;
    if (i === tokenStart) {
      i++; // Not a token character: skip it rather than loop forever on malformed input.
      continue;
    }
    const token = header.slice(tokenStart, i);
    const afterToken = i;
    skipSpace();
    if (header[i] !== '=') {
      // A token not followed by "=" starts a new challenge.
      scheme = token;
      i = afterToken;
      continue;
    }
    i++;
    skipSpace();
    const start = i;
    let value = '';
    if (header[i] === '"') {
      i++;
      while (i < n && header[i] !== '"') {
        if (header[i] === '\\' && i + 1 < n) i++;
        value += header[i];
        i++;
      }
      i++; // closing quote
    } else {
      while (i < n && TCHAR.test(header[i] ?? '')) value += header[i++];
      // token68 padding ("abc==") would land here; it is not a parameter, so drop it.
      if (value === '') continue;
    }
    params.push({ scheme, name: token.toLowerCase(), value, start, end: Math.min(i, n) });
  }
  return params;
}

/** Replaces the realm of every Bearer challenge with what `replace` returns (null: keep it). */
export function rewriteBearerRealms(header: string, replace: (realm: string) => string | null): string {
  let out = '';
  let last = 0;
  for (const param of parseAuthParams(header)) {
    if (param.scheme.toLowerCase() !== 'bearer' || param.name !== 'realm') continue;
    const replacement = replace(param.value);
    if (replacement === null) continue;
    out += header.slice(last, param.start) + quote(replacement);
    last = param.end;
  }
  return out + header.slice(last);
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
