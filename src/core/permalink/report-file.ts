/**
 * The adapter for an exported analysis (`.layerlens.json`, the report format): detected from
 * its content (JSON text whose first character is `{`), never from its name.
 */
import { NotAnArchiveError } from '../archive/analyze';
import type { Analysis } from '../model';
import { looksLikeReport, parseReport, ReportSchemaError } from './report-schema';
import { analysisFromReport } from './summary-analysis';

/** Reports are kilobytes; a larger "JSON" file is something else. */
const MAX_REPORT = 16 << 20;

/** True when the first bytes are JSON text opening an object (after optional white space and BOM). */
export function looksLikeJson(head: Uint8Array): boolean {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09))
    i++;
  return head[i] === 0x7b;
}

/**
 * Reads an exported analysis; null when the file is not one (so the archive adapters have it,
 * and say what it looks like). A report that is not a valid version-1 report is refused, saying
 * why and where.
 */
export async function analysisFromReportFile(file: Blob, name: string): Promise<Analysis | null> {
  if (!looksLikeJson(new Uint8Array(await file.slice(0, 64).arrayBuffer()))) return null;
  const refuse = (message: string, where = name): never => {
    throw new NotAnArchiveError({ code: 'not-an-archive', message, where, severity: 'error' });
  };
  if (file.size > MAX_REPORT) return null;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer()));
  } catch {
    return null;
  }
  if (!looksLikeReport(value)) return null;
  try {
    const report = parseReport(value);
    return analysisFromReport(report, { kind: 'export', omitted: [] });
  } catch (e) {
    if (e instanceof ReportSchemaError)
      refuse(`${name} is not a valid exported analysis: ${e.message}`, `${name}: ${e.path}`);
    throw e;
  }
}
