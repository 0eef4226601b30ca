/** Wording shared by the core's messages and the page. */

/** `1 layer`, `2 layers`: a count and its noun, in the singular for one. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
