import { defineConfig } from "vitest/config";

// The app loads the built files from ui/dist through Tauri's own protocol;
// there is no dev server in the loop, so the build must be self-contained.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari16",
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
