/** Wording shared by the core's messages and the page. */

/** `1 layer`, `2 layers`: a count and its noun, in the singular for one. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** `a, b, c and 2 more`: the first `max` of `names`, and how many are left out. */
export function listed(names: readonly string[], max = 3): string {
  return names.length > max
    ? `${names.slice(0, max).join(', ')} and ${names.length - max} more`
    : names.join(', ');
}
