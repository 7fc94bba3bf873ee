// The two prompts of ExpandR and the clean-up of what the LLM writes (DESIGN.md §1; paper Table 4 and
// Appendix A.2). Prompts are plain user messages: the generator applies the chat template.
//
// Q2D follows DESIGN.md §1 ("…answer the question.\nQuestion: …"); the paper's Table 4 prints a colon
// after "question" — the design's wording (HyDE's, as the reference code uses) is the one fixed here.

/** Expansion prompt (Eq. 15), `{query}` replaced. */
export const Q2D_TEMPLATE = 'Please write a passage to answer the question.\nQuestion: {query}\nPassage:';

/** Answer prompt (Eq. 12), paper Table 4, `{query}` and `{doc}` replaced. */
export const Q2A_TEMPLATE =
  'You are given a query and a related document. Based on the query, generate a direct and relevant answer using the ' +
  'information in the document. If the query is a statement, expand on it. If it is a question, provide a direct answer. ' +
  'Avoid any extra description or irrelevant content.\nQuery: {query}\nRelated Document: {doc}\nAnswer:';

/**
 * Characters of the gold document kept in the Q2A prompt (cut at a word boundary). ~2,000 characters is
 * ~500 tokens: the reference code's encoder reads 512 tokens of a document, so more would not have been
 * scored against either, and small decoders (stories260K: 512 positions) still fit a prompt.
 */
export const Q2A_DOC_MAX_CHARS = 2000;

export type PromptKind = 'q2d' | 'q2a';

/** The Q2D prompt of a query (also the DPO pair's prompt). */
export function q2dPrompt(query: string): string {
  return Q2D_TEMPLATE.replace('{query}', () => query.trim());
}

/** Cuts `text` to at most `max` characters, at the last whitespace before the limit when there is one. */
export function truncateText(text: string, max: number): string {
  const t = text.trim();
  if (max <= 0 || t.length <= max) return t;
  const cut = t.slice(0, max);
  const space = cut.search(/\s\S*$/); // start of the last (partial) word
  return (space > max / 2 ? cut.slice(0, space) : cut).trimEnd();
}

/** The Q2A prompt of a query and its gold document (title + " " + text), the document truncated. */
export function q2aPrompt(query: string, doc: string, maxDocChars = Q2A_DOC_MAX_CHARS): string {
  return Q2A_TEMPLATE.replace('{query}', () => query.trim()).replace('{doc}', () => truncateText(doc, maxDocChars));
}

/**
 * The reference code's intro phrases (ExpandR's generation scripts; FACTS.md), in its order. Its rule, which
 * stripIntro follows exactly: the first phrase of this list that occurs anywhere in the text (case-sensitive)
 * wins, the text after it is kept — up to a second occurrence of the same phrase, as Python's
 * `text.split(phrase)[1]` does — and stripped of whitespace.
 */
export const REFERENCE_INTRO_PHRASES: readonly string[] = Object.freeze([
  'Here is a passage to answer the question:',
  'Here is a passage that answers the question:',
  'Here is a passage answering the question:',
  "Here's a passage that attempts to answer the question:",
  "Here's a passage that answers the question:",
  "Here's a passage that answers your question:",
  "Here's a possible passage:",
  'Here is a possible passage:',
  'Here is a potential passage:',
  "Here's a potential passage:",
  "Here's a passage:",
  'Here is the passage:',
  "Here's the passage:",
]);

/**
 * Beyond the reference list, for texts it does not match: introductions small models put before the text
 * they were asked for (paper A.2: "This is the answer to the query:"; SmolLM2: "Sure! …"). Each pattern
 * matches at the very start of the text, case-insensitively; `example` is a text it removes completely
 * (the tests check every one). The "Here is …:" forms need a noun such as passage/answer before the colon
 * within the first line, so a passage that merely starts "Here is why …:" keeps its words.
 */
export const INTRO_PATTERNS: readonly { pattern: RegExp; example: string }[] = Object.freeze([
  { pattern: /^(?:sure|certainly|of course|absolutely|okay|ok)(?: thing)?\s*[!,.:]\s*/i, example: 'Sure! ' },
  {
    pattern: /^here(?:'s| is| are)\b[^\n:]{0,80}?\b(?:passage|answer|response|paragraph|text|explanation|summary|expansion|document)s?\b[^\n:]{0,120}:\s*/i,
    example: 'Here is a passage to answer the question:',
  },
  { pattern: /^here(?:'s| is| are)\s+(?:a|an|the|my)?\s*(?:possible|brief|short|direct)?\s*(?:passage|answer|response)s?\s*[.!]\s*/i, example: "Here's a passage." },
  { pattern: /^(?:this|the following) is\s+(?:a|an|the|my)?\b[^\n:]{0,60}?\b(?:passage|answer|response)\b[^\n:]{0,120}:\s*/i, example: 'This is the answer to the query:' },
  { pattern: /^(?:\*\*|__)?(?:passage|answer|response|expansion)(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*/i, example: 'Passage:' },
  { pattern: /^(?:\*\*|__)(?:passage|answer|response)\s*:?(?:\*\*|__)\s*:?\s*/i, example: '**Passage**' },
]);

/** Most intro layers removed from one text ("Sure! Here is a short passage:\nPassage: …" has three). */
const MAX_INTRO_LAYERS = 4;

/**
 * Python's str.strip(): the characters str.isspace() accepts. JS trim() differs (it keeps \x1c–\x1f and
 * \x85, and removes \ufeff), and the reference rule is Python's.
 */
const PY_EDGE_SPACE = /^[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
export const pyStrip = (text: string): string => text.replace(PY_EDGE_SPACE, '');

/**
 * Removes the introduction a model wrote before its passage. A text with a REFERENCE_INTRO_PHRASES phrase
 * anywhere gets exactly the reference code's result; any other text loses leading INTRO_PATTERNS matches,
 * repeatedly, and is stripped. A text that is nothing but an introduction becomes ''.
 */
export function stripIntro(text: string): string {
  const phrase = REFERENCE_INTRO_PHRASES.find((p) => text.includes(p));
  if (phrase !== undefined) return pyStrip(text.split(phrase)[1]);
  let t = pyStrip(text);
  for (let layer = 0; layer < MAX_INTRO_LAYERS; layer++) {
    const hit = INTRO_PATTERNS.find(({ pattern }) => pattern.test(t));
    if (!hit) break;
    t = pyStrip(t.replace(hit.pattern, ''));
  }
  return t;
}
