import { defineConfig } from 'vite';

// The app builds into the package (dist/ui), which `vmlab serve` serves.
// No plugin: Vite's own transform handles TSX (automatic JSX runtime).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false, // web/bundleSize.mjs prints what matters: the first load
    chunkSizeWarningLimit: 700, // the lazy lab chunk (xyflow + xterm)
    rolldownOptions: {
      // React libraries mark modules "use client"; meaningless in a plain SPA bundle.
      onwarn(w, warn) {
        if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w);
      },
    },
  },
});
