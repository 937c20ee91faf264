// PostgreSQL array literals ('{"a","b"}', '{1,2}') written directly, for parameters cast server-side
// ($1::text[]). node-postgres writes an array parameter element by element, escaping and quoting every
// one through its generic value conversion: for a batch of a few hundred rows a column, most of a
// statement's client time. Here a text column without quote or backslash is one join.

const needsEscape = /[\\"]/g;

/** A text[] literal of `values`; null and undefined are NULL, every string is quoted (so 'NULL', '' and ' a ' stay strings). */
export function textArrayLiteral(values: ReadonlyArray<string | null | undefined>): string {
  if (values.length === 0) return '{}';
  for (const value of values) {
    if (typeof value !== 'string' || value.includes('"') || value.includes('\\')) return escapedTextArrayLiteral(values);
  }
  return `{"${values.join('","')}"}`;
}

function escapedTextArrayLiteral(values: ReadonlyArray<string | null | undefined>): string {
  let literal = '{';
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index];
    if (index > 0) literal += ',';
    literal += typeof value === 'string' ? `"${value.replace(needsEscape, '\\$&')}"` : 'NULL';
  }
  return `${literal}}`;
}

/** An int8[] or float8[] literal of `values`; anything not a number is NULL (NaN and ±Infinity are written as such, for the cast to judge). */
export function numberArrayLiteral(values: ReadonlyArray<number | null | undefined>): string {
  let literal = '{';
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index];
    if (index > 0) literal += ',';
    literal += typeof value === 'number' ? String(value) : 'NULL';
  }
  return `${literal}}`;
}

/** A bool[] literal of `values`; anything not a boolean is NULL. */
export function booleanArrayLiteral(values: ReadonlyArray<boolean | null | undefined>): string {
  let literal = '{';
  for (let index = 0; index < values.length; index += 1) {
    const value = values[index];
    if (index > 0) literal += ',';
    literal += value === true ? 't' : value === false ? 'f' : 'NULL';
  }
  return `${literal}}`;
}
