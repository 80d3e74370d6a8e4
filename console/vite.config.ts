/**
 * Build of the web console: `npm run build` runs `vite build --config
 * console/vite.config.ts`, writing `dist/console/app` (index.html and hashed
 * assets), which src/console/plugin.ts serves under `/console`.
 */
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));

export default defineConfig({
  root: here,
  base: "/console/",
  plugins: [react()],
  // No public/ directory: every file the console serves is a hashed build output.
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL("../dist/console/app", import.meta.url)),
    emptyOutDir: true,
    // Nothing inlined as data: URLs or inline code; the CSP allows data: for images only.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
  },
  logLevel: "warn",
});
