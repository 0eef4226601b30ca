/**
 * Copying text for a button, and how it went, said for a few seconds: "Copy link", a node's
 * document, a file path. The clipboard needs a secure context (not plain http from another
 * host), so a failure is an expected outcome, shown, never thrown.
 */
export class ClipboardNote {
  state = $state<'copied' | 'failed' | null>(null);
  /** What the last copy was of. */
  text = $state('');
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly showMs = 4000) {}

  async copy(text: string): Promise<void> {
    this.text = text;
    try {
      await navigator.clipboard.writeText(text);
      this.state = 'copied';
    } catch {
      this.state = 'failed';
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => (this.state = null), this.showMs);
  }

  /** Forget the last outcome (what it was about is no longer on screen). */
  reset(): void {
    clearTimeout(this.#timer);
    this.state = null;
  }
}
