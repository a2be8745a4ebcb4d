// Builds tar archives in memory for the data-source tests (tar-stream's packer).
import { pack } from 'tar-stream';

/** A tar archive of these members (tar-stream writes PAX headers for long or non-ASCII names). */
export async function makeTar(entries: readonly (readonly [string, Uint8Array | string])[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of p as AsyncIterable<Uint8Array>) chunks.push(c);
  })();
  for (const [name, body] of entries) p.entry({ name }, typeof body === 'string' ? Buffer.from(body) : Buffer.from(body));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}
