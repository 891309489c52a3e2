import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { manifestSchema } from '../../../src/image/manifest-schema.js';

const DOC = fileURLToPath(new URL('../../../docs/manifest.schema.json', import.meta.url));
const text = `${JSON.stringify(manifestSchema, null, 2)}\n`;

describe('docs/manifest.schema.json', () => {
  // IMGPLAY_WRITE_SCHEMA=1 npx vitest run test/unit/image/manifest-schema.test.ts rewrites it after a schema change.
  it('is the manifest schema imgplay validates with', async () => {
    if (process.env.IMGPLAY_WRITE_SCHEMA === '1') await writeFile(DOC, text);
    expect(await readFile(DOC, 'utf8').catch(() => 'missing')).toBe(text);
  });
});
