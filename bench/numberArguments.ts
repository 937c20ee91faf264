/** A command-line number > 0, or an error that names the option. */
export function positive(text: string, option: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new Error(`${option} must be a number > 0, got '${text}'`);
  return value;
}

/** A command-line integer > 0, or an error that names the option. */
export function positiveInteger(text: string, option: string): number {
  const value = positive(text, option);
  if (!Number.isInteger(value)) throw new Error(`${option} must be an integer, got '${text}'`);
  return value;
}
