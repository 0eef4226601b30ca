/** js-untar 2.0.0 ships no types; only what the bench page uses. */
declare module 'js-untar' {
  export interface TarFile {
    name: string;
    size: number;
    type: string;
    buffer: ArrayBuffer;
  }
  export default function untar(buffer: ArrayBuffer): Promise<TarFile[]>;
}
