import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/bin.ts', 'src/local-cluster.ts'],
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
});
