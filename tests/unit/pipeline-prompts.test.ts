// The Q2D / Q2A prompts (DESIGN.md §1, paper Table 4) and the intro-phrase table.
import { describe, expect, it } from 'vitest';
import { INTRO_PATTERNS, q2aPrompt, q2dPrompt, Q2A_DOC_MAX_CHARS, stripIntro, truncateText } from '../../src/pipeline/prompts.ts';

describe('prompts', () => {
  it('Q2D is exactly the design prompt', () => {
    expect(q2dPrompt('what causes tides?')).toBe('Please write a passage to answer the question.\nQuestion: what causes tides?\nPassage:');
  });

  it('Q2A is exactly paper Table 4', () => {
    expect(q2aPrompt('q?', 'Title body text')).toBe(
      'You are given a query and a related document. Based on the query, generate a direct and relevant answer using the ' +
        'information in the document. If the query is a statement, expand on it. If it is a question, provide a direct answer. ' +
        'Avoid any extra description or irrelevant content.\nQuery: q?\nRelated Document: Title body text\nAnswer:',
    );
  });

  it('keeps $-patterns in queries literally', () => {
    expect(q2dPrompt("cost $& $1 $'")).toContain("Question: cost $& $1 $'\n");
    expect(q2aPrompt('$&', '$` doc')).toContain('Query: $&\nRelated Document: $` doc\n');
  });

  it('truncates the document at a word boundary', () => {
    expect(truncateText('alpha beta gamma', 12)).toBe('alpha beta');
    expect(truncateText('short', 100)).toBe('short');
    expect(truncateText('x'.repeat(50), 10)).toBe('x'.repeat(10)); // no space: a hard cut
    const long = 'word '.repeat(1000);
    const p = q2aPrompt('q', long);
    const doc = p.split('Related Document: ')[1].split('\nAnswer:')[0];
    expect(doc.length).toBeLessThanOrEqual(Q2A_DOC_MAX_CHARS);
    expect(doc.endsWith('word')).toBe(true);
  });
});

describe('stripIntro', () => {
  it.each(INTRO_PATTERNS.map((p) => [p.example]))('removes the table example %j completely', (example) => {
    expect(stripIntro(example)).toBe('');
    expect(stripIntro(`${example} Tides are caused by the moon.`)).toBe('Tides are caused by the moon.');
  });

  it.each([
    ['Here is a passage to answer the question:\n\nTides are caused by the moon.', 'Tides are caused by the moon.'],
    ["Here's a passage:\nTides...", 'Tides...'],
    ['Sure! Here is a passage that answers the question about tides:\n\nTides rise.', 'Tides rise.'],
    ['sure, here is the answer:\nYes.', 'Yes.'],
    ['HERE IS A PASSAGE TO ANSWER THE QUESTION: x', 'x'],
    ['Passage: The moon pulls.', 'The moon pulls.'],
    ['This is the answer to the query: 42', '42'],
    ['Certainly! Here is a short passage:\nPassage: text', 'text'],
    ['**Passage:** bold start', 'bold start'],
    ['  \n Here are some passages:\n a', 'a'],
  ])('strips %j', (input, out) => {
    expect(stripIntro(input)).toBe(out);
  });

  it.each([
    'Here is why vitamin D matters: it helps bones.',
    'Tides are caused by the moon. Here is a passage: not at the start.',
    'Surely the moon matters.',
    'Passages of the moon cause tides.',
    '',
  ])('leaves %j alone (only trimmed)', (text) => {
    expect(stripIntro(`  ${text}  `)).toBe(text);
  });
});
