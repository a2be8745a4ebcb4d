// Manifest parsers for the file-backed data kinds: CSV/TSV with a header (csv-parse), JSON lines, COCO
// captions JSON, and folders matched by stem. Each turns its input into records — a sample's file paths per
// modality, its captions, its timestamps — and counts the rows it could not use instead of failing on them
// (unless the user asked to stop). Files are not opened here; the pipeline reads them.

import { readFile, readdir } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ConfigError } from '../config.js';

/** One sample of a manifest. */
export interface ManifestRecord {
  /** Named in messages: the manifest line or the stem. */
  readonly name: string;
  /** Modality → absolute file path. */
  readonly paths: Readonly<Record<string, string>>;
  /** The text modality's captions when the manifest holds them (COCO: several, one drawn per epoch). */
  readonly captions: readonly string[] | null;
  /** Modality → timestamp in seconds, where the manifest gives one. */
  readonly times: Readonly<Record<string, number>>;
}

export interface Manifest {
  readonly records: ManifestRecord[];
  /** Rows that could not be used, by reason ('manifest': a malformed row, 'missing': a stem absent from a folder). */
  readonly skipped: Record<string, number>;
  /** Messages of the first few skipped rows (printed with the counts). */
  readonly notes: string[];
}

/** What the manifest parsers need to know: the column of each modality and of its timestamp. */
export interface ManifestLayout {
  readonly columns: Readonly<Record<string, string>>;
  readonly times: Readonly<Record<string, string>>;
  /** The modality whose column holds caption text (not a path). */
  readonly textModality: string;
  readonly root: string;
  /** Throw on a bad row instead of counting it. */
  readonly stop: boolean;
}

class Rows {
  readonly records: ManifestRecord[] = [];
  readonly skipped: Record<string, number> = {};
  readonly notes: string[] = [];
  constructor(readonly stop: boolean) {}
  skip(reason: string, message: string): void {
    if (this.stop) throw new ConfigError(`${message} (data.onError is 'stop'; 'skip' counts such rows and goes on)`);
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    if (this.notes.length < 5) this.notes.push(message);
  }
  done(file: string): Manifest {
    if (this.records.length === 0) throw new ConfigError(`data.file: ${file} has no usable rows${this.notes.length ? ` (${this.notes.join('; ')})` : ''}`);
    return { records: this.records, skipped: this.skipped, notes: this.notes };
  }
}

/** A row (column → cell) as a record, or a reason it cannot be one. */
function fromRow(row: Readonly<Record<string, unknown>>, where: string, L: ManifestLayout): ManifestRecord | string {
  const paths: Record<string, string> = {};
  let captions: string[] | null = null;
  for (const [m, col] of Object.entries(L.columns)) {
    const v = row[col];
    if (typeof v !== 'string' || v === '') return `${where}: no '${col}' value`;
    if (m === L.textModality) captions = [v];
    else paths[m] = resolve(L.root, v);
  }
  const times: Record<string, number> = {};
  for (const [m, col] of Object.entries(L.times)) {
    const v = row[col];
    const t = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(t)) return `${where}: '${col}' is not a timestamp in seconds (${JSON.stringify(v)})`;
    times[m] = t;
  }
  return { name: where, paths, captions, times };
}

/** A CSV/TSV manifest's text (header row first); `file` names errors. */
export function parseCsvManifest(body: string, file: string, separator: string, L: ManifestLayout): Manifest {
  let rows: string[][];
  try {
    const parsed: unknown = parse(body, { delimiter: separator, bom: true, relax_column_count: true, skip_empty_lines: true, relax_quotes: false });
    rows = parsed as string[][];
  } catch (e) {
    throw new ConfigError(`data.file: ${file} is not valid ${separator === '\t' ? 'TSV' : 'CSV'}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const header = rows[0] ?? [];
  for (const col of [...Object.values(L.columns), ...Object.values(L.times)])
    if (!header.includes(col)) throw new ConfigError(`data.columns: ${file} has no '${col}' column (columns: ${header.join(', ') || 'none'})`);
  const out = new Rows(L.stop);
  rows.slice(1).forEach((cells, i) => {
    const r = fromRow(Object.fromEntries(header.map((h, k) => [h, cells[k]])), `${file} row ${i + 2}`, L);
    if (typeof r === 'string') out.skip('manifest', r);
    else out.records.push(r);
  });
  return out.done(file);
}

/** A JSON-lines manifest's text. */
export function parseJsonlManifest(body: string, file: string, L: ManifestLayout): Manifest {
  const out = new Rows(L.stop);
  body.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file} line ${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      return out.skip('manifest', `${where}: not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return out.skip('manifest', `${where}: not a JSON object`);
    const r = fromRow(v as Record<string, unknown>, where, L);
    if (typeof r === 'string') out.skip('manifest', r);
    else out.records.push(r);
  });
  return out.done(file);
}

/** COCO captions JSON: one record per image that has captions, with all of its captions, in image-id order. */
export function parseCocoManifest(body: string, file: string, imageModality: string, root: string, stop: boolean): Manifest {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (e) {
    throw new ConfigError(`data.file: ${file} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const o = v as { images?: unknown; annotations?: unknown };
  if (typeof v !== 'object' || v === null || !Array.isArray(o.images) || !Array.isArray(o.annotations))
    throw new ConfigError(`data.file: ${file} is not COCO captions JSON (it needs 'images' and 'annotations' lists)`);
  const out = new Rows(stop);
  const captions = new Map<number, string[]>();
  (o.annotations as unknown[]).forEach((a, i) => {
    const { image_id: id, caption } = (a ?? {}) as { image_id?: unknown; caption?: unknown };
    if (typeof id !== 'number' || typeof caption !== 'string') return out.skip('manifest', `${file} annotations[${i}]: needs a numeric image_id and a caption string`);
    captions.set(id, [...(captions.get(id) ?? []), caption.trim()]);
  });
  const images = (o.images as unknown[]).flatMap((im, i) => {
    const { id, file_name: name } = (im ?? {}) as { id?: unknown; file_name?: unknown };
    if (typeof id !== 'number' || typeof name !== 'string' || name === '') {
      out.skip('manifest', `${file} images[${i}]: needs a numeric id and a file_name`);
      return [];
    }
    return [{ id, name }];
  });
  images.sort((a, b) => a.id - b.id);
  for (const { id, name } of images) {
    const c = captions.get(id);
    if (!c) out.skip('manifest', `${file}: image ${id} (${name}) has no caption`);
    else out.records.push({ name: `${name} (id ${id})`, paths: { [imageModality]: resolve(root, name) }, captions: c, times: {} });
  }
  return out.done(file);
}

/** Folders per modality: records for the stems every folder has (sorted), the others counted as 'missing'. */
export async function scanFolders(dirs: Readonly<Record<string, string>>, stop: boolean): Promise<Manifest> {
  const byStem = new Map<string, Record<string, string>>();
  for (const [m, dir] of Object.entries(dirs)) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      throw new ConfigError(`data.dirs.${m}: cannot list ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const n of names) {
      if (n.startsWith('.')) continue;
      const stem = n.slice(0, n.length - extname(n).length);
      byStem.set(stem, { ...byStem.get(stem), [m]: join(dir, n) });
    }
  }
  const out = new Rows(stop);
  const modalities = Object.keys(dirs);
  for (const stem of [...byStem.keys()].sort()) {
    const paths = byStem.get(stem)!;
    const absent = modalities.filter((m) => !(m in paths));
    if (absent.length > 0) out.skip('missing', `${stem}: no ${absent.join(', ')} file`);
    else out.records.push({ name: stem, paths, captions: null, times: {} });
  }
  return out.done(Object.values(dirs).join(', '));
}

/** Reads a manifest file's text, naming the config field on failure. */
export async function readManifest(file: string): Promise<{ body: string; root: string }> {
  try {
    return { body: await readFile(file, 'utf8'), root: dirname(resolve(file)) };
  } catch (e) {
    throw new ConfigError(`data.file: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
