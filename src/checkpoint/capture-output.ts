/** How many of the cells' last lines a failed capture's message quotes. */
const QUOTED_LINES = 5;
/** A quoted line longer than this is cut: the message is for a person. */
const QUOTED_LINE_CHARS = 300;

/** The non-blank lines of `text`, each cut to a readable length. */
function linesOf(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .map((l) => (l.length > QUOTED_LINE_CHARS ? `${l.slice(0, QUOTED_LINE_CHARS)}…` : l));
}

/**
 * A failed capture's message with what the cells printed last (their output
 * goes to the worker's stderr), so that the operation's error shows it: the
 * lines the message does not quote already.
 */
export function withCellOutput(message: string, output: string): string {
  const last = linesOf(output)
    .filter((l) => !message.includes(l.trim()))
    .slice(-QUOTED_LINES);
  return last.length === 0 ? message : `${message}; the cells printed last: ${last.join(' | ')}`;
}

/** The last line a chunk of the cells' output holds, for the operation's progress; undefined when it holds none. */
export function lastLineOf(chunk: string): string | undefined {
  return linesOf(chunk).pop();
}
