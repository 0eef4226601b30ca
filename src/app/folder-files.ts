/**
 * Folders the person drops or picks (an OCI image layout as `skopeo copy … oci:<dir>` writes
 * it, an unpacked `docker save`), as the list of files the worker analyses: each file by its
 * path inside the folder. Nothing is read here: a `File` is a handle, its bytes are read in
 * the worker.
 */
import type { FolderFile } from '../core/archive/archive-files';

/**
 * An image layout holds a few files per blob; a folder with more than this many is not one (a
 * home folder dropped by mistake), and listing it would keep the page busy for nothing.
 */
export const MAX_FOLDER_FILES = 100_000;

const tooMany = () =>
  new Error(
    `it holds more than ${MAX_FOLDER_FILES.toLocaleString('en-US')} files, which no image layout does: drop the folder that holds index.json or manifest.json`,
  );

export interface PickedFolder {
  name: string;
  files: FolderFile[];
}

/**
 * Files from `<input type="file" webkitdirectory>`: each has `webkitRelativePath`
 * `<folder>/<path inside it>`.
 */
export function folderFromInput(list: FileList): PickedFolder | null {
  if (list.length > MAX_FOLDER_FILES) throw tooMany();
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

/** The dropped folder, when the first dropped item is one (File and Directory Entries API). */
export function droppedFolder(data: DataTransfer): FileSystemDirectoryEntry | null {
  const entry = data.items[0]?.webkitGetAsEntry?.() ?? null;
  return entry?.isDirectory ? (entry as FileSystemDirectoryEntry) : null;
}

/** Every file below a dropped folder, by its path inside it. */
export async function readFolder(root: FileSystemDirectoryEntry): Promise<PickedFolder> {
  const files: FolderFile[] = [];
  const walk = async (dir: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    const reader = dir.createReader();
    // readEntries answers in batches (100 in Chromium) until it answers with none.
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) =>
        reader.readEntries(resolve, reject),
      );
      if (batch.length === 0) return;
      for (const entry of batch) {
        const path = prefix + entry.name;
        if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, `${path}/`);
        else {
          const blob = await new Promise<File>((resolve, reject) =>
            (entry as FileSystemFileEntry).file(resolve, reject),
          );
          if (files.length === MAX_FOLDER_FILES) throw tooMany();
          files.push({ path, blob });
        }
      }
    }
  };
  await walk(root, '');
  return { name: root.name, files };
}
