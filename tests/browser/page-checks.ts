// What a person notices on a screen before reading it: the page scrolls sideways, a control cannot be
// reached from the keyboard, or a control has no name a screen reader can say (axe-core's rules for names and labels; axe-core is the checker browsers'
// own accessibility panels build on). Returns one line per problem, [] when the screen is fine.
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** axe-core rules about names and labels of controls (keyboard and screen-reader use). */
const NAME_RULES = ['label', 'button-name', 'select-name', 'link-name', 'input-button-name', 'aria-input-field-name', 'aria-toggle-field-name', 'summary-name', 'nested-interactive', 'duplicate-id-aria'];

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

export async function pageProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  const widths = await page.evaluate(() => {
    const view = document.documentElement.clientWidth;
    // The innermost elements that reach past the right edge: what to fix.
    const over = [...document.body.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > view + 0.5 && ![...e.children].some((c) => c.getBoundingClientRect().right > view + 0.5));
    const name = (e: Element) => `${e.tagName.toLowerCase()}${e.getAttribute('data-testid') ? `[data-testid=${e.getAttribute('data-testid')}]` : e.className ? `.${String(e.className).split(' ')[0]}` : ''}`;
    return { scroll: document.documentElement.scrollWidth, view, over: over.slice(0, 5).map((e) => `${name(e.parentElement!)} > ${name(e)}`) };
  });
  if (widths.scroll > widths.view) problems.push(`the page scrolls sideways: ${widths.scroll} px of content in ${widths.view} px (${widths.over.join('; ')})`);
  // Controls a mouse can reach but the keyboard cannot: enabled file pickers and buttons that refuse focus.
  const unfocusable = await page.evaluate(() => {
    const before = document.activeElement as HTMLElement | null;
    const out = [...document.querySelectorAll<HTMLElement>('input[type="file"]:not([disabled]), button:not([disabled])')]
      // Shown to the eye (a file picker through its label; not inside a closed <details>), so it must take focus too.
      .filter((e) => (e instanceof HTMLInputElement ? e.parentElement! : e).checkVisibility())
      .filter((e) => {
        e.focus();
        return document.activeElement !== e;
      })
      .map((e) => e.getAttribute('data-testid') ?? e.textContent?.trim().slice(0, 40) ?? e.tagName);
    before?.focus();
    return out;
  });
  if (unfocusable.length) problems.push(`not reachable by keyboard: ${unfocusable.join('; ')}`);
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async (rules) => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'rule', values: rules }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target.map(String) })) }));
  }, NAME_RULES);
  for (const v of violations) problems.push(`${v.id} (${v.help}): ${v.nodes.map((n) => n.target.join(' ')).join('; ')}`);
  return problems;
}
