import { defineConfig } from "vite";

// Served by the gateway at /dashboard (gateway/dashboard.py). `npm run dev` proxies the
// API to a platform started with `python -m launcher up` (port 8000 by default).
const api = process.env.TANDEM_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/dashboard/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    proxy: {
      "/graphql": { target: api, ws: true },
      "/dev": { target: api },
    },
  },
});
