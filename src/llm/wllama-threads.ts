// (src/llm: a pure rule the page can import without pulling a session into its main bundle.)
// How many threads llama.cpp (wllama) runs with in this page, without loading wllama: the page's UI says it
// before a run, and the generator uses the same rule. wllama's threaded wasm build needs SharedArrayBuffer,
// so only a cross-origin isolated page gets more than one; by default it takes half the logical cores (as
// wllama does), which on a 2-core machine is one thread.

/** Threads wllama will use: `requested`, else half of `cores`; 1 where the page is not cross-origin isolated. */
export function wllamaThreads(cores: number, isolated: boolean, requested?: number): number {
  if (!isolated) return 1;
  return Math.max(1, requested ?? Math.floor(cores / 2));
}
