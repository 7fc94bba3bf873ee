// wllama's two wasm builds (llama.cpp compiled with and without threads), emitted by Vite beside the app and
// served from its own origin: no CDN. Kept in its own module so that only the llama.cpp path loads them.
import singleThreadWasm from '@wllama/wllama/esm/single-thread/wllama.wasm?url';
import multiThreadWasm from '@wllama/wllama/esm/multi-thread/wllama.wasm?url';

export interface WllamaAssets {
  /** Absolute URL of the single-thread build. */
  singleThread: string;
  /** Absolute URL of the threaded build (used only where the page is cross-origin isolated). */
  multiThread: string;
}

/**
 * The asset URLs made absolute against this module's URL: wllama runs them in a Worker it creates from a
 * blob: URL, where a root-relative path has no base.
 */
export function wllamaAssets(): WllamaAssets {
  return { singleThread: new URL(singleThreadWasm, import.meta.url).href, multiThread: new URL(multiThreadWasm, import.meta.url).href };
}
