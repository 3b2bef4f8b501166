import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the gateway at /console/ (services/gateway/src/plugins/console.ts). Every built asset is named after its
// content hash (the gateway caches those as immutable); nothing is inlined, so the page runs under a CSP with no
// 'unsafe-inline' (a small asset inlined as a data: URL would need one).
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
});
