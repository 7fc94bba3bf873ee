// Markdown → HTML for the page (the run analysis). marked (GitHub-flavoured tables) then DOMPurify, since the
// text carries the dataset's queries and passages and the LLM's expansions, which may hold markup. Both load
// lazily, as their own chunk: the main bundle stays Svelte and uPlot (tests/unit/ui-main-bundle.test.ts).
export async function markdownHtml(markdown: string): Promise<string> {
  const [{ marked }, { default: DOMPurify }] = await Promise.all([import('marked'), import('dompurify')]);
  return DOMPurify.sanitize(await marked.parse(markdown, { gfm: true, async: true }));
}
