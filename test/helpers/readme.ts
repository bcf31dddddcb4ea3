import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/**
 * The first fenced code block of `lang` in a Markdown file: examples in
 * READMEs are run by tests, so they cannot drift from what works.
 */
export function codeBlock(markdownFile: string, lang: string): string {
  const text = readFileSync(markdownFile, 'utf8');
  const match = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'm').exec(text);
  assert.ok(match, `${markdownFile} has a \`\`\`${lang} block`);
  return match[1]!;
}
