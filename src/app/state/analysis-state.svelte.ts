/**
 * All UI state lives here; components receive slices of it as props. Svelte 5 rune class,
 * as in the svelte.dev examples: fields are reactive, methods are the only writers.
 */
import { FolderError } from '../folder-files';
import type { PickedFolder } from '../folder-files';
import { listed } from '../../core/text';
import type { Analysis, Check, GraphNode, ImageInfo, Problem, Progress } from '../../core/model';
import { blobFileName, downloadsStored } from '../format';
import { saveFile } from '../save-file';
import {
  LINK_BUDGET,
  VIEW_RESERVE,
  decodeLink,
  encodeArchiveLink,
  encodeLink,
  type LinkSource,
  type LinkView,
} from '../../core/permalink/link';
import { analysisFromReport } from '../../core/permalink/summary-analysis';
import { parseReference } from '../../core/registry/reference';
import { buildReport, REPORT_VERSION } from '../../core/report';
import type { CacheListing, FromWorker, ToWorker } from '../../messages';
import { WorkerClient } from '../worker-client';
import { FilesState } from './files-state.svelte';

export type Status = 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
export type Tab = 'graph' | 'summary' | 'history' | 'layers' | 'files' | 'problems';

interface Sample {
  elapsedMs: number;
  bytesDone: number;
}

/** The permalink of what is on screen. */
export interface CurrentLink {
  /** The URL fragment, without `#`. */
  fragment: string;
  /** What the summary leaves out to stay short (archives). */
  omitted: string[];
  /** Source and view, without the details that change as one browses (path, search): a new
   *  key is a new entry in the browser's history. */
  key: string;
}

/** An archive a summary describes, waiting for the file to be dropped to compare digests. */
export interface ExpectedArchive {
  sha256: string;
  name: string;
  size: number;
}

/** The comparison of a dropped file with the archive a link described. */
export interface ArchiveCheck {
  match: boolean;
  expected: ExpectedArchive;
  actual: { sha256: string; name: string };
}

export interface CheckCounts {
  verified: number;
  mismatch: number;
  unchecked: number;
  /** pending + running */
  open: number;
  total: number;
}

/** Where remembered registry credentials are kept (only when the person asks). */
const CREDENTIALS_KEY = 'layerlens.registry-credentials';

/** Rate over the last few seconds reacts to slow and fast layers without jumping on every snapshot. */
const RATE_WINDOW_MS = 3000;

function countChecks(checks: Check[]): CheckCounts {
  const c: CheckCounts = { verified: 0, mismatch: 0, unchecked: 0, open: 0, total: checks.length };
  for (const check of checks) {
    if (check.state === 'verified') c.verified++;
    else if (check.state === 'mismatch') c.mismatch++;
    else if (check.state === 'unchecked') c.unchecked++;
    else c.open++;
  }
  return c;
}

export class AnalysisState {
  // Snapshots are replaced wholesale, never mutated, so deep proxies would only cost time.
  analysis = $state.raw<Analysis | null>(null);
  progress = $state.raw<Progress | null>(null);
  status = $state<Status>('idle');
  error = $state.raw<Problem | null>(null);
  /** Name of the file the current error is about (it may not be the one on screen). */
  errorSource = $state<string | null>(null);
  /** Name of the file of the latest run, known before its first snapshot arrives. */
  openingName = $state<string | null>(null);
  selectedImageId = $state<string | null>(null);
  selectedNodeId = $state<string | null>(null);
  tab = $state<Tab>('graph');
  /** A graph node's blob being read for download, or why it could not be (shown in its details). */
  blobDownload = $state.raw<{ key: string; error: string | null } | null>(null);

  /** The blob cache's contents, once listed. */
  cache = $state.raw<CacheListing | null>(null);
  /** True when registry credentials are held (in memory for this tab, and stored if remembered). */
  hasCredentials = $state(false);
  /** The credentials are stored in this browser (the person ticked Remember). */
  credentialsRemembered = $state(false);
  /** Registry credentials: in this object only, unless the person asked to remember them. */
  #credentials: { username: string; password: string } | null = null;
  #persistAsked = false;

  /** Set while the analysis on screen is a summary of an archive not opened here. */
  expectedArchive = $derived.by((): ExpectedArchive | null => {
    const a = this.analysis;
    const sha256 = a?.origin ? a.source.sha256 : undefined;
    return a && sha256 ? { sha256, name: a.source.name, size: a.source.size } : null;
  });
  /** The result of comparing a dropped file with the archive a link described. */
  archiveCheck = $state.raw<ArchiveCheck | null>(null);

  #samples = $state.raw<Sample[]>([]);
  #run = 0;
  /** Bumped by every open request, so a slow sample download cannot replace a file opened meanwhile. */
  #intent = 0;
  /** True until the latest run's first snapshot: selections then belong to the previous file. */
  #fresh = $state(false);
  /**
   * The latest run failed before its first analysis, so the analysis on screen is the previous
   * one (its name differs from the file that failed, `errorSource`).
   */
  previousKept = $state(false);
  /** The status of the analysis on screen when the latest run began (its run cancelled by then). */
  #statusBefore: Status = 'idle';
  /**
   * The run the latest one cancelled when it began, and that run's last analysis once the worker
   * has marked what it did not check: shown if the latest run fails before its first analysis,
   * since the analysis on screen is then that run's, and its checks are no longer running.
   */
  #cancelledRun = -1;
  #cancelledAnalysis: Analysis | null = null;
  /** A permalink's view, applied when the run's first analysis arrives. */
  #pendingView: LinkView | null = null;
  /** The archive a summary asked for when a file was dropped on it: compared once that file is hashed. */
  #compareWith: ExpectedArchive | null = null;
  /** The run of a link's summary, whose full analysis this browser may still send (`recall`). */
  #recallRun = -1;
  /** The latest archive summary made for links, by analysis (trimming it costs a few deflates). */
  #summary: { analysis: Analysis; source: LinkSource } | null = null;
  /** How the latest run's input is read again (a file, a listed folder, a reference), and that run. */
  #again = $state.raw<{ run: number; read: () => void } | null>(null);
  #client: WorkerClient;
  /** The Files tab (layer listings live in the worker; this asks for rows and file bytes). */
  readonly files: FilesState;

  /** Bytes per second over the recent window; null until two snapshots are apart in time. */
  throughput = $derived.by((): number | null => {
    const samples = this.#samples;
    const last = samples.at(-1);
    if (!last) return null;
    const first = samples.find((s) => s.elapsedMs >= last.elapsedMs - RATE_WINDOW_MS) ?? last;
    const dt = last.elapsedMs - first.elapsedMs;
    if (dt >= 250) return ((last.bytesDone - first.bytesDone) / dt) * 1000;
    if (last.elapsedMs >= 250) return (last.bytesDone / last.elapsedMs) * 1000;
    return null;
  });

  /** Seconds left at the current rate. */
  timeLeft = $derived.by((): number | null => {
    const p = this.progress;
    const rate = this.throughput;
    if (!p || rate === null || rate <= 0) return null;
    return Math.max(0, p.bytesTotal - p.bytesDone) / rate;
  });

  selectedImage = $derived.by((): ImageInfo | null => {
    const images = this.analysis?.images ?? [];
    return images.find((i) => i.id === this.selectedImageId) ?? images[0] ?? null;
  });

  digestCounts = $derived.by((): CheckCounts =>
    countChecks(Object.values(this.analysis?.blobs ?? {}).map((b) => b.digestCheck)),
  );

  diffIdCounts = $derived.by((): CheckCounts =>
    countChecks(
      Object.values(this.analysis?.blobs ?? {})
        .filter((b) => b.role === 'layer')
        .map((b) => b.diffIdCheck),
    ),
  );

  problemCount = $derived((this.analysis?.problems.length ?? 0) + (this.error ? 1 : 0));

  /** The permalink of the view on screen; null until there is one (an archive not hashed yet). */
  link = $derived.by((): CurrentLink | null => this.#makeLink());

  /** An archive is being hashed for its permalink. */
  linkPending = $derived(
    this.analysis !== null &&
      this.analysis.source.kind !== 'registry' &&
      !this.analysis.origin &&
      !this.analysis.source.sha256 &&
      this.status === 'done' &&
      !this.analysis.source.sha256Error,
  );

  constructor() {
    this.#client = new WorkerClient({
      message: (msg) => this.#receive(msg),
      error: (message) => this.#workerBroke(message),
    });
    this.files = new FilesState(
      (msg) => this.#client.send(msg),
      () => this.selectedImage,
    );
    this.#loadCredentials();
    // Ready before the first drop, so the graph is not delayed by the worker's start-up.
    try {
      this.#client.warm();
    } catch {
      // Reported on first use instead: `open` shows the error where the person looks.
    }
  }

  /** A file the person dropped or picked: when a summary asks for its archive, it is compared. */
  open(file: Blob, name = file instanceof File ? file.name : 'archive'): void {
    const expected = this.expectedArchive;
    this.#openFile(file, name);
    this.#compareWith = expected;
  }

  #openFile(file: Blob, name: string): void {
    const run = this.#beginRun(name, file.size);
    this.#send({ type: 'open', run, file, name, limits: this.files.limitsForOpen() });
    this.#again = { run, read: () => this.#openFile(file, name) };
  }

  /**
   * The analysis on screen was read here from something the page still holds (a file, a folder,
   * a registry reference), so it can be read again: not a link's summary, nor an earlier analysis
   * kept on screen after a later input failed.
   */
  get canReadAgain(): boolean {
    const again = this.#again;
    return (
      again !== null &&
      again.run === this.#run &&
      this.analysis !== null &&
      !this.analysis.origin &&
      !this.previousKept
    );
  }

  /** Read the analysis on screen again from its input (with the limits set since), in the same view. */
  readAgain(): void {
    const again = this.#again;
    if (!this.canReadAgain || !again || !this.analysis) return;
    const view = this.#view(this.analysis);
    again.read();
    this.#pendingView = view;
  }

  /** A new run supersedes the current one: cancel it and reset what belongs to it. */
  #beginRun(name: string, bytesTotal: number): number {
    this.#intent++;
    if (this.status === 'running') this.#client.send({ type: 'cancel', run: this.#run });
    this.#cancelledRun = this.status === 'running' ? this.#run : -1;
    this.#cancelledAnalysis = null;
    const run = ++this.#run;
    this.#statusBefore = this.status === 'running' ? 'cancelled' : this.status;
    this.status = 'running';
    this.error = null;
    this.errorSource = null;
    this.openingName = name;
    this.progress = { bytesDone: 0, bytesTotal, elapsedMs: 0 };
    this.#samples = [];
    this.#fresh = true;
    this.previousKept = false;
    this.#pendingView = null;
    this.#recallRun = -1;
    this.#compareWith = null;
    this.archiveCheck = null;
    this.blobDownload = null;
    this.files.reset(run);
    return run;
  }

  #send(msg: ToWorker): void {
    try {
      this.#client.send(msg);
    } catch (e) {
      this.#workerBroke(
        `The analysis worker could not be started: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  async openSample(): Promise<void> {
    const name = 'sample.tar';
    const intent = ++this.#intent;
    let blob: Blob;
    try {
      const res = await fetch(`${import.meta.env.BASE_URL}sample/sample.tar`);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
      blob = await res.blob();
    } catch (e) {
      if (intent !== this.#intent) return;
      this.#cannotOpen(name, {
        code: 'read-error',
        message: `The sample archive could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
        where: `${import.meta.env.BASE_URL}sample/sample.tar`,
        severity: 'error',
      });
      return;
    }
    if (intent !== this.#intent) return;
    this.#openFile(blob, name);
  }

  /**
   * A folder the person dropped or picked (an OCI image layout as `skopeo copy … oci:<dir>`
   * writes it, an unpacked docker save), once its files are listed.
   */
  async openFolder(read: Promise<PickedFolder>): Promise<void> {
    const expected = this.expectedArchive;
    const intent = ++this.#intent;
    let folder: PickedFolder;
    try {
      folder = await read;
    } catch (e) {
      if (intent !== this.#intent) return;
      const name = e instanceof FolderError ? e.folder : null;
      this.#cannotOpen(name === null ? 'the folder' : `the folder ${name}`, {
        code: 'read-error',
        message: `The folder could not be read: ${e instanceof Error ? e.message : String(e)}`,
        where: name ?? 'the folder given',
        severity: 'error',
      });
      return;
    }
    if (intent !== this.#intent) return;
    this.#openListedFolder(folder);
    this.#compareWith = expected;
  }

  #openListedFolder(folder: PickedFolder): void {
    const size = folder.files.reduce((sum, f) => sum + f.blob.size, 0);
    const run = this.#beginRun(folder.name, size);
    const { files, name } = folder;
    this.#send({ type: 'open-folder', run, files, name, limits: this.files.limitsForOpen() });
    this.#again = { run, read: () => this.#openListedFolder(folder) };
  }

  /**
   * Several archives dropped at once (not the contents of a layout folder): opening only the
   * first would leave the person believing the others were read too.
   */
  refuseSeveral(names: readonly string[]): void {
    this.#cannotOpen(`${names.length} files`, {
      code: 'not-an-archive',
      message: `${names.length} files were dropped (${listed(names)}): drop one archive at a time, or a folder holding an image layout`,
      where: 'the dropped files',
      severity: 'error',
    });
  }

  /**
   * `name` could not be opened (a sample not fetched, a folder not listed, a run that failed
   * before its first analysis): the error banner names it, and the analysis on screen, if any,
   * stays with its own status and says so.
   */
  #cannotOpen(name: string | null, problem: Problem): void {
    this.error = problem;
    this.errorSource = name;
    this.previousKept = this.analysis !== null;
    if (!this.analysis) this.status = 'failed';
  }

  /** Analyse an image in a registry; `platform` picks one image of a multi-platform index. */
  inspect(reference: string, platform?: string, allPlatforms = false): void {
    const run = this.#beginRun(reference, 0);
    this.#askPersistence();
    this.#send({
      type: 'inspect',
      run,
      reference,
      platform,
      credentials: this.#credentials,
      allPlatforms,
      limits: this.files.limitsForOpen(),
    });
    this.#again = { run, read: () => this.inspect(reference, platform, allPlatforms) };
  }

  /**
   * Credentials for private registries, held in memory for this tab; stored in this browser
   * only when `remember` is set (the person ticked Remember). null forgets them everywhere.
   */
  setCredentials(credentials: { username: string; password: string } | null, remember = false): void {
    this.#credentials = credentials && credentials.username ? { ...credentials } : null;
    this.hasCredentials = this.#credentials !== null;
    try {
      if (this.#credentials && remember)
        localStorage.setItem(CREDENTIALS_KEY, JSON.stringify(this.#credentials));
      else localStorage.removeItem(CREDENTIALS_KEY);
      this.credentialsRemembered = this.#credentials !== null && remember;
    } catch {
      // Storage refused (private mode, quota): they stay in memory for the tab.
      this.credentialsRemembered = false;
    }
  }

  /** Credentials the person asked this browser to remember, if any. */
  #loadCredentials(): void {
    try {
      const saved = JSON.parse(localStorage.getItem(CREDENTIALS_KEY) ?? 'null') as unknown;
      if (
        saved &&
        typeof saved === 'object' &&
        typeof (saved as Record<string, unknown>).username === 'string' &&
        typeof (saved as Record<string, unknown>).password === 'string'
      ) {
        const { username, password } = saved as { username: string; password: string };
        if (username) {
          this.#credentials = { username, password };
          this.hasCredentials = true;
          this.credentialsRemembered = true;
        }
      }
    } catch {
      // Nothing remembered, or storage unavailable.
    }
  }

  listCache(): void {
    this.#client.send({ type: 'cache-list' });
  }

  clearCache(): void {
    this.#client.send({ type: 'cache-clear' });
  }

  /** Persistent storage can only be asked for from a window, so the page asks, once. */
  #askPersistence(): void {
    if (this.#persistAsked) return;
    this.#persistAsked = true;
    try {
      void navigator.storage?.persist?.().catch(() => false);
    } catch {
      /* not offered by this browser */
    }
  }

  cancel(): void {
    if (this.status !== 'running') return;
    this.#client.send({ type: 'cancel', run: this.#run });
    this.status = 'cancelled';
  }

  selectNode(id: string | null): void {
    this.selectedNodeId = id;
    this.blobDownload = null;
  }

  /**
   * A graph node's blob as a file: a layer's or payload's stored bytes, which the worker hands
   * over as a Blob (a slice of the archive, a folder's file, the blob cache's copy); a document
   * (manifest, index, config) as it was read.
   */
  downloadNode(node: GraphNode): void {
    const blob = node.blob ? this.analysis?.blobs[node.blob] : undefined;
    if (!blob || !node.present) return;
    if (!downloadsStored(blob)) {
      if (node.raw === null) return;
      saveFile(blobFileName(blob, true), new Blob([node.raw], { type: 'application/json' }));
      return;
    }
    const a = this.analysis as Analysis;
    if (a.origin) {
      // A summary shown without its input (a link, an export, this browser's earlier analysis).
      const again =
        a.source.kind === 'registry'
          ? `inspect ${a.source.reference ?? a.source.name} again`
          : `drop ${a.source.name} here`;
      this.blobDownload = {
        key: blob.key,
        error: `this is a summary of the analysis: ${again} to download its blobs`,
      };
      return;
    }
    this.blobDownload = { key: blob.key, error: null };
    this.#send({ type: 'blob', run: this.#run, key: blob.key });
  }

  selectImage(id: string): void {
    this.selectedImageId = id;
    this.files.refresh();
  }

  /** From History or Layers: the Files tab, on what layer `index` changes. */
  showLayerFiles(index: number): void {
    this.files.selectLayer(index);
    this.files.setMode('layer');
    this.tab = 'files';
  }

  dismissError(): void {
    this.error = null;
    this.errorSource = null;
  }

  #receive(msg: FromWorker): void {
    if (msg.type === 'tree' || msg.type === 'file') {
      this.files.receive(msg);
      return;
    }
    if (msg.type === 'cache') {
      this.cache = msg.cache;
      return;
    }
    if (msg.type === 'snapshot' && msg.run === this.#cancelledRun && msg.run !== this.#run) {
      this.#cancelledSnapshot(msg.analysis);
      return;
    }
    if (msg.run !== this.#run) return;
    if (msg.type === 'blob') {
      if (this.blobDownload?.key !== msg.key) return;
      const blob = this.analysis?.blobs[msg.key];
      if (msg.blob && blob) {
        this.blobDownload = null;
        saveFile(blobFileName(blob, false), msg.blob);
      } else this.blobDownload = { key: msg.key, error: msg.error ?? 'the blob could not be read' };
      return;
    }
    if (msg.type === 'snapshot') {
      this.#applySnapshot(msg.analysis, msg.progress);
      if (msg.analysis.nodes.length > 0 && this.#shownRun !== msg.run) {
        this.#shownRun = msg.run;
        // After the frame that draws it: requestAnimationFrame runs before that frame's paint,
        // the timeout after it. A hidden tab draws no frame; the worker does not wait for ever.
        const run = msg.run;
        requestAnimationFrame(() => setTimeout(() => this.#client.send({ type: 'shown', run }), 0));
      }
    } else if (msg.type === 'failed') {
      this.progress = null;
      if (this.#fresh && this.analysis) {
        // Nothing of the failed run was shown: the analysis on screen is still the previous one,
        // with the status it had when the run began, its link, and its files, which the worker
        // serves to this run again.
        this.#fresh = false;
        this.status = this.#statusBefore;
        if (this.#cancelledAnalysis) this.analysis = this.#cancelledAnalysis;
        this.files.refresh();
        this.#cannotOpen(this.openingName, msg.problem);
      } else {
        // The run's own analysis is on screen, as far as it got.
        this.error = msg.problem;
        this.errorSource = this.openingName;
        this.status = 'failed';
      }
    }
  }

  /**
   * A snapshot of the run the latest one cancelled: kept until the latest run shows its own
   * analysis, or shown at once when that run has failed and left the cancelled one on screen.
   */
  #cancelledSnapshot(analysis: Analysis): void {
    if (this.previousKept && this.#fresh === false && this.status === 'cancelled') {
      this.analysis = analysis;
      this.files.update(analysis);
    } else if (this.#fresh) this.#cancelledAnalysis = analysis;
  }

  /** The last run whose graph the worker was told is on screen. */
  #shownRun = -1;

  #applySnapshot(analysis: Analysis, progress: Progress): void {
    // The run's first analysis (or the full one replacing a link's summary) takes the link's view.
    const first = this.#fresh || this.#recallRun === this.#run;
    if (this.#fresh) {
      this.#fresh = false;
      this.selectedImageId = null;
      this.selectedNodeId = null;
    }
    this.#recallRun = -1;
    this.analysis = analysis;
    if (first && this.#pendingView) {
      this.#applyView(this.#pendingView, analysis);
      this.#pendingView = null;
    }
    const sha256 = analysis.source.sha256;
    // Only an archive analysed here is compared (an exported analysis dropped instead is a summary).
    const expected = this.#compareWith;
    if (expected && sha256 && !analysis.origin) {
      this.archiveCheck = {
        match: sha256 === expected.sha256,
        expected,
        actual: { sha256, name: analysis.source.name },
      };
      this.#compareWith = null;
    }
    this.progress = progress;
    this.#samples = [...this.#samples.filter((s) => s.elapsedMs < progress.elapsedMs), progress].slice(-64);

    if (!analysis.images.some((i) => i.id === this.selectedImageId)) {
      this.selectedImageId = (analysis.images.find((i) => i.present) ?? analysis.images[0])?.id ?? null;
    }
    if (this.selectedNodeId !== null && !analysis.nodes.some((n) => n.id === this.selectedNodeId)) {
      this.selectedNodeId = null;
    }
    this.files.update(analysis);
    // After a cancel the worker still reports what it managed; the status stays "cancelled".
    if (this.status === 'running' && analysis.complete) this.status = 'done';
  }

  // ---- permalinks (docs/permalinks.md) ------------------------------------------------------

  #makeLink(): CurrentLink | null {
    const a = this.analysis;
    // Before a new run's first answer, the analysis on screen is the previous one.
    if (!a || this.#fresh) return null;
    const source = this.#linkSource(a);
    if (!source) return null;
    const view = this.#view(a);
    const fragment = encodeLink({ source, view });
    const id = source.kind === 'registry' ? `${source.ref} ${source.platform ?? ''}` : source.sha256;
    const key = JSON.stringify([
      id,
      view.tab,
      view.image ?? 0,
      view.node ?? '',
      view.files?.layer ?? 0,
      view.files?.mode ?? '',
    ]);
    return { fragment, omitted: source.kind === 'archive' ? source.omitted : [], key };
  }

  #linkSource(a: Analysis): LinkSource | null {
    if (a.source.kind === 'registry') {
      if (!a.source.resolved) return null;
      const typed = parseReference(a.source.reference ?? '');
      const tag = typed.ok ? typed.ref.tag : null;
      return {
        kind: 'registry',
        ref: a.source.resolved,
        ...(tag ? { tag } : {}),
        ...(a.source.platform ? { platform: a.source.platform } : {}),
      };
    }
    const sha256 = a.source.sha256;
    if (!sha256 || !a.complete) return null;
    if (this.#summary?.analysis !== a) {
      const { state } = encodeArchiveLink(
        { sha256, name: a.source.name, size: a.source.size },
        buildReport(a),
        { tab: 'graph' },
        LINK_BUDGET - VIEW_RESERVE,
        a.origin?.omitted ?? [],
      );
      this.#summary = { analysis: a, source: state.source };
    }
    return this.#summary.source;
  }

  #view(a: Analysis): LinkView {
    const image = a.images.findIndex((i) => i.id === this.selectedImage?.id);
    return {
      tab: this.tab,
      ...(image > 0 ? { image } : {}),
      ...(this.selectedNodeId ? { node: this.selectedNodeId } : {}),
      ...(this.tab === 'files' ? { files: this.files.view() } : {}),
    };
  }

  #applyView(view: LinkView, a: Analysis): void {
    this.tab = view.tab;
    const image = a.images[view.image ?? 0];
    if (image) this.selectedImageId = image.id;
    this.selectedNodeId = view.node && a.nodes.some((n) => n.id === view.node) ? view.node : null;
    if (view.files) this.files.restore(view.files);
  }

  /**
   * Show what a permalink describes (the page was opened with it, or the browser moved back or
   * forward to it). An empty fragment is the start page. A link that cannot be read leaves an
   * empty page and says why.
   */
  openLink(fragment: string): void {
    const decoded = decodeLink(fragment);
    if (decoded === null || !decoded.ok) {
      this.#clear();
      if (decoded) {
        this.errorSource = 'this link';
        this.error = {
          code: 'invalid-link',
          message: decoded.error,
          where: `the link's fragment (${fragment.replace(/^#/, '').length} characters)`,
          severity: 'error',
        };
      }
      return;
    }
    const { source, view } = decoded.state;
    const a = this.analysis;
    if (source.kind === 'registry') {
      if (
        a?.source.kind === 'registry' &&
        a.source.resolved === source.ref &&
        (a.source.platform ?? undefined) === source.platform &&
        this.status !== 'running'
      ) {
        this.#applyView(view, a);
        return;
      }
      // `host/repo:tag@sha256:…`: the digest is what is fetched (and verified); the tag is kept
      // to be shown and to switch tags from.
      const at = source.ref.lastIndexOf('@');
      const reference = source.tag
        ? `${source.ref.slice(0, at)}:${source.tag}${source.ref.slice(at)}`
        : source.ref;
      this.inspect(reference, source.platform);
      this.#pendingView = view;
      return;
    }
    if (a && !a.origin && a.source.sha256 === source.sha256) {
      this.#applyView(view, a);
      return;
    }
    const run = this.#beginRun(source.name, 0);
    this.status = 'done';
    this.progress = null;
    const summary = analysisFromReport(
      source.summary ?? {
        version: REPORT_VERSION,
        complete: true,
        source: { kind: 'unknown', layout: '', name: source.name, size: source.size, compression: null },
        images: [],
        problems: [],
      },
      { kind: 'link', omitted: source.omitted },
    );
    summary.source = { ...summary.source, name: source.name, size: source.size, sha256: source.sha256 };
    // Its own link is the one it came from, summary untouched.
    this.#summary = { analysis: summary, source };
    this.#pendingView = view;
    this.#applySnapshot(summary, { bytesDone: 0, bytesTotal: 0, elapsedMs: 0 });
    // The full analysis, if this browser has it, replaces the summary (with the same view).
    this.#recallRun = run;
    this.#pendingView = view;
    this.#send({ type: 'recall', run, sha256: source.sha256 });
  }

  /** Back to the start page. */
  #clear(): void {
    this.#intent++;
    if (this.status === 'running') this.#client.send({ type: 'cancel', run: this.#run });
    this.files.reset(++this.#run);
    this.analysis = null;
    this.previousKept = false;
    this.progress = null;
    this.status = 'idle';
    this.error = null;
    this.errorSource = null;
    this.openingName = null;
    this.#compareWith = null;
    this.archiveCheck = null;
    this.tab = 'graph';
    this.selectedImageId = null;
    this.selectedNodeId = null;
    this.#fresh = false;
    this.#pendingView = null;
    this.#recallRun = -1;
  }

  #workerBroke(message: string): void {
    this.error = { code: 'read-error', message, where: 'analysis worker', severity: 'error' };
    this.errorSource = this.openingName;
    if (this.status === 'running') this.status = 'failed';
    this.progress = null;
    // Any answer still in flight belongs to the dead worker.
    this.#run++;
  }
}
