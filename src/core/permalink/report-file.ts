/**
 * The adapter for an exported analysis (`.layerlens.json`, the report format): detected from
 * its content, never from its name. It is tried only for files the archive adapters found to be
 * JSON text, so an archive's path to its graph reads nothing more for it.
 */
import { NotAnArchiveError } from '../archive/analyze';
import type { Analysis } from '../model';
import { looksLikeReport, parseReport, SchemaError } from './report-schema';
import { analysisFromReport } from './summary-analysis';

/** Reports are kilobytes; a larger "JSON" file is something else. */
const MAX_REPORT = 16 << 20;

/**
 * Reads an exported analysis; null when the file is not one (so the archive adapters have it,
 * and say what it looks like). A report that is not a valid version-1 report is refused, saying
 * why and where.
 */
export async function analysisFromReportFile(file: Blob, name: string): Promise<Analysis | null> {
  const refuse = (message: string, where = name): never => {
    throw new NotAnArchiveError({ code: 'not-an-archive', message, where, severity: 'error' });
  };
  if (file.size > MAX_REPORT) return null;
  let value: unknown;
  try {
    // A BOM is dropped by the decoder (its default), as sniff() allows one.
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer()));
  } catch {
    return null;
  }
  if (!looksLikeReport(value)) return null;
  try {
    const report = parseReport(value);
    return analysisFromReport(report, { kind: 'export', omitted: [] });
  } catch (e) {
    if (e instanceof SchemaError)
      refuse(`${name} is not a valid exported analysis: ${e.message}`, `${name}: ${e.path}`);
    throw e;
  }
}
