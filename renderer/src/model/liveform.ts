// The attach/record form's pure parts: a shell-like argument splitter and the sampling options' validation, so the
// form can say exactly what is wrong before anything is sent. The defaults and limits are the contract's.
import type { SamplingOptions } from '../../../electron/contract/api';
import { checkSamplingValues, MODULE_NAME } from '../../../electron/contract/validate';

export { DEFAULT_SAMPLING_OPTIONS } from '../../../electron/contract/validate';

/**
 * Splits one command-line string into arguments the way a POSIX shell would for plain words: whitespace separates,
 * 'single quotes' keep everything literally, "double quotes" allow \" \\ \$ \` escapes, a backslash outside quotes
 * escapes the next character. No expansion of any kind ($VAR, globs, ~) happens: the target gets exactly this.
 */
export function splitArgs(line: string): { args: string[]; error: string | null } {
  const args: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  let quoteAt = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      quoteAt = i;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < line.length) cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) args.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return { args, error: `Unclosed ${quote === '"' ? 'double' : 'single'} quote at column ${quoteAt + 1}` };
  if (inWord) args.push(cur);
  return { args, error: null };
}

/** What is wrong with the options, in words for the form, or null. */
export function validateSamplingOptions(o: SamplingOptions): string | null {
  return checkSamplingValues(o, { rate: 'Rate', duration: 'Duration limit' });
}

/** `python -m` takes a dotted module name; anything else (a path, an option) is refused before it is sent. */
export function checkModuleName(text: string): string | null {
  const name = text.trim();
  if (!name) return 'Give a module to run, e.g. pytest';
  if (/^-/.test(name)) return `'${name}' is an option, not a module: put options under Arguments`;
  if (/[\\/]|\.py$/.test(name)) return `'${name}' looks like a file: choose "python script.py" to run a file`;
  if (!MODULE_NAME.test(name)) return `'${name}' is not a Python module name (letters, digits, _ and dots)`;
  return null;
}
