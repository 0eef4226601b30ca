/**
 * Hands `data` to the browser as a download named `name` (nothing leaves the machine). Data of no
 * type (a slice of the archive, a blob the worker gathered) is typed as bytes: otherwise Chromium
 * names the file after what it sniffs, and a text payload `<hex>` is saved as `<hex>.txt`.
 */
export function saveFile(name: string, data: Blob): void {
  const typed = data.type ? data : new Blob([data], { type: 'application/octet-stream' });
  const url = URL.createObjectURL(typed);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoking at once can abort the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
