import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes of the regular files under `dir` (LevelDB keeps a few dozen files,
 * so a walk per scrape is cheap). Files that vanish mid-walk (a compaction
 * deleting a table) count as 0.
 */
export async function dirSizeBytes(dir: string): Promise<number> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  const sizes = await Promise.all(
    entries.map(async (e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return dirSizeBytes(path);
      if (!e.isFile()) return 0;
      try {
        return (await stat(path)).size;
      } catch {
        return 0;
      }
    }),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
