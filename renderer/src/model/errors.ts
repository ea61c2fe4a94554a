// What a failed request says to the user: one sentence that names what was tried once, never an internal code.
// The services' messages already name the file or the process and say what to do; prefixing "Could not open X:"
// to a message that starts "could not open 'X'" said everything twice. Pure.
import { ERROR_CODES } from '../../../electron/contract/api';

/** " (bad-request)": a contract error code in parentheses, as older texts carried it. */
const CODE_IN_PARENS = new RegExp(`\\s*\\((?:${ERROR_CODES.join('|')})\\)`, 'g');

/** `subjects` are the words that identify what was tried (a path, its base name, a pid). */
export function composeFailure(attempt: string, subjects: readonly string[], message: string): string {
  const text = message.replace(CODE_IN_PARENS, ' ').replace(/[ \t]+/g, ' ').trim();
  const named = subjects.some((s) => s !== '' && text.includes(s));
  const sentence = named ? text : `${attempt}: ${text}`;
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

/** The last path component (either separator). */
export function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}
