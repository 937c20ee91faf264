/** Comma-separated `a:b` entries of a setting, trimmed, empty ones left out; undefined where one is not of that form. */
export function colonPairs(text: string): Array<[string, string] | undefined> {
  return text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '').map((entry) => {
    const colon = entry.indexOf(':');
    return colon > 0 ? [entry.slice(0, colon).trim(), entry.slice(colon + 1).trim()] : undefined;
  });
}
