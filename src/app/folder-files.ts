/**
 * Folders the person drops or picks (an OCI image layout as `skopeo copy … oci:<dir>` writes
 * it, an unpacked `docker save`), as the list of files the worker analyses: each file by its
 * path inside the folder. Nothing is read here: a `File` is a handle, its bytes are read in
 * the worker.
 */
import type { FolderFile } from '../core/archive/archive-files';
import { listed } from '../core/text';

/**
 * An image layout holds a few files per blob; a folder with more than this many is not one (a
 * home folder dropped by mistake), and listing it would keep the page busy for nothing.
 */
export const MAX_FOLDER_FILES = 100_000;

/** A folder that cannot be opened, with its name where it is known. */
export class FolderError extends Error {
  constructor(
    message: string,
    readonly folder: string | null,
  ) {
    super(message);
  }
}

const tooMany = (folder: string | null) =>
  new FolderError(
    `it holds more than ${MAX_FOLDER_FILES.toLocaleString('en-US')} files, which no image layout does: drop the folder that holds index.json or manifest.json`,
    folder,
  );

/** The folder a file of `<input webkitdirectory>` is in: the first component of its relative path. */
function topFolder(file: File | undefined): string | null {
  const rel = file?.webkitRelativePath ?? '';
  const slash = rel.indexOf('/');
  return slash > 0 ? rel.slice(0, slash) : null;
}

export interface PickedFolder {
  name: string;
  files: FolderFile[];
}

/**
 * Files from `<input type="file" webkitdirectory>`: each has `webkitRelativePath`
 * `<folder>/<path inside it>`.
 */
export function folderFromInput(list: FileList): PickedFolder | null {
  if (list.length > MAX_FOLDER_FILES) throw tooMany(topFolder(list[0]));
  const files: FolderFile[] = [];
  let name = '';
  for (const file of list) {
    const rel = file.webkitRelativePath || file.name;
    const slash = rel.indexOf('/');
    name ||= slash < 0 ? '' : rel.slice(0, slash);
    files.push({ path: slash < 0 ? rel : rel.slice(slash + 1), blob: file });
  }
  return name ? { name, files } : null;
}

/** Files at the top of an image layout or docker save: dropped together, they are its contents. */
const TOP_FILES = new Set(['index.json', 'oci-layout', 'manifest.json', 'repositories']);

/**
 * What was dropped, when it is a folder (File and Directory Entries API): a folder dropped
 * alone, or the contents of one selected together (`index.json`, `oci-layout`, `blobs/`), which
 * then stand for the folder that holds them. Anything else is a file, opened as an archive.
 * The entries are only to be had during the drop event itself.
 */
export function droppedFolder(data: DataTransfer): FileSystemEntry[] | null {
  const entries: FileSystemEntry[] = [];
  for (const item of data.items) {
    const entry = item.kind === 'file' ? (item.webkitGetAsEntry?.() ?? null) : null;
    if (entry) entries.push(entry);
  }
  const [first] = entries;
  if (!first) return null;
  if (entries.length === 1) return first.isDirectory ? entries : null;
  return entries.some((e) => e.isDirectory || TOP_FILES.has(e.name)) ? entries : null;
}

/** Every file below the dropped entries, by its path inside the folder they stand for. */
export async function readFolder(dropped: readonly FileSystemEntry[]): Promise<PickedFolder> {
  const files: FolderFile[] = [];
  const add = async (entry: FileSystemEntry, path: string): Promise<void> => {
    if (entry.isDirectory) return walk(entry as FileSystemDirectoryEntry, `${path}/`);
    const blob = await new Promise<File>((resolve, reject) =>
      (entry as FileSystemFileEntry).file(resolve, reject),
    );
    if (files.length === MAX_FOLDER_FILES)
      throw tooMany(dropped.length === 1 ? (dropped[0]?.name ?? null) : null);
    files.push({ path, blob });
  };
  const walk = async (dir: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    const reader = dir.createReader();
    // readEntries answers in batches (100 in Chromium) until it answers with none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
        reader.readEntries(resolve, reject),
      );
      if (batch.length === 0) return;
      for (const entry of batch) await add(entry, prefix + entry.name);
    }
  };
  const [first] = dropped;
  if (dropped.length === 1 && first?.isDirectory) {
    await walk(first as FileSystemDirectoryEntry, '');
    return { name: first.name, files };
  }
  for (const entry of dropped) await add(entry, entry.name);
  // The folder they came from is not known to the page: name it by what was dropped.
  return { name: listed(dropped.map((e) => e.name).sort()), files };
}
