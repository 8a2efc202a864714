import type { FormatDefinition, LookupName } from './format-writer.js';
import type { ExportFormat } from './types.js';
import { csvFormat } from './writers/csv.js';
import { htmlFormat } from './writers/html.js';
import { jsonlFormat } from './writers/jsonl.js';
import { rsmfFormat } from './writers/rsmf.js';

/** Every export format's writer (format-writer.ts), by the name requests use. */
export const FORMAT_DEFINITIONS: Readonly<Record<ExportFormat, FormatDefinition>> = {
  jsonl: jsonlFormat,
  csv: csvFormat,
  html: htmlFormat,
  rsmf: rsmfFormat,
};

/** The definitions of an export's formats, in the order given (requests keep the canonical order). */
export function formatDefinitions(formats: readonly ExportFormat[]): FormatDefinition[] {
  return formats.map((f) => FORMAT_DEFINITIONS[f]);
}

/** The lookups some of these formats need. */
export function neededLookups(definitions: readonly FormatDefinition[]): Set<LookupName> {
  return new Set(definitions.flatMap((d) => d.needs));
}
