/**
 * Keeps the address bar on the permalink of the view on screen, and the browser's back and
 * forward buttons moving between views: a new source or view (tab, image, node, layer, mode) is
 * a new history entry; finer changes (the selected path, the search) replace the current one.
 * The fragment never reaches a server (RFC 3986 §3.5), so links carry no data to the host.
 */
import type { AnalysisState, CurrentLink } from './analysis-state.svelte';

export class UrlSync {
  #lastKey: string | null = null;
  /** The next write replaces the entry: the page or the history just moved to this link. */
  #replaceNext = false;

  constructor(private readonly app: AnalysisState) {}

  /** Open the link the page was loaded with, and follow the history from now on. */
  start(): () => void {
    if (location.hash.length > 1) {
      this.#replaceNext = true;
      this.app.openLink(location.hash);
    }
    const onPop = () => {
      this.#replaceNext = true;
      this.#lastKey = null;
      this.app.openLink(location.hash);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }

  write(link: CurrentLink | null): void {
    if (!link) return;
    const hash = `#${link.fragment}`;
    const push = !this.#replaceNext && this.#lastKey !== link.key && location.hash !== hash;
    this.#lastKey = link.key;
    this.#replaceNext = false;
    if (location.hash === hash) return;
    const url = `${location.pathname}${location.search}${hash}`;
    try {
      if (push) history.pushState(null, '', url);
      else history.replaceState(null, '', url);
    } catch {
      // Browsers throttle history writes (e.g. while typing fast); the next change writes again.
    }
  }
}
