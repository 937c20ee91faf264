import { readFileSync } from 'node:fs';
import { ConfigError, type Environment } from '../config.js';

/** A caller of the gateway: the name is what logs and rate limits use, the token is the secret it presents. */
export interface ApiKey { name: string; token: string }

const keyName = /^[A-Za-z0-9._-]{1,64}$/;
const tokenText = /^[\x21-\x7e]+$/;

/**
 * Parses `name:token` entries, adding one problem per bad entry to `problems`
 * (a malformed entry, or a name or token already used). Problems say where
 * the entry is, never what its token is.
 */
function parseApiKeys(entries: ReadonlyArray<{ text: string; where: string }>, problems: string[]): ApiKey[] {
  const keys: ApiKey[] = [];
  const owners = new Map<string, string>();
  for (const { text, where } of entries) {
    const colon = text.indexOf(':');
    if (colon < 0) {
      problems.push(`${where} must be name:token`);
      continue;
    }
    const name = text.slice(0, colon).trim();
    const token = text.slice(colon + 1).trim();
    if (!keyName.test(name)) problems.push(`${where} has an invalid key name (1 to 64 of A-Z a-z 0-9 . _ -)`);
    else if (token === '') problems.push(`${where} has an empty token for key "${name}"`);
    else if (!tokenText.test(token)) problems.push(`${where} has a token with spaces or control characters for key "${name}"`);
    else if (keys.some((key) => key.name === name)) problems.push(`${where} defines key "${name}" a second time`);
    else if (owners.has(token)) problems.push(`${where} gives key "${name}" the same token as key "${owners.get(token)}"`);
    else {
      keys.push({ name, token });
      owners.set(token, name);
    }
  }
  return keys;
}

/**
 * The gateway's API keys, from GATEWAY_API_KEYS (comma-separated name:token)
 * and GATEWAY_API_KEYS_FILE (one name:token a line, # comments). Empty when
 * neither is set. Throws ConfigError naming the variable for a malformed
 * entry, an unreadable or empty file, or a name or token used twice.
 */
export function readApiKeys(env: Environment): ApiKey[] {
  const problems: string[] = [];
  const entries: Array<{ text: string; where: string }> = [];
  const inline = env.string('GATEWAY_API_KEYS', '');
  if (inline !== '') {
    inline.split(',').forEach((text, i) => {
      if (text.trim() !== '') entries.push({ text, where: `GATEWAY_API_KEYS entry ${i + 1}` });
    });
    if (entries.length === 0) problems.push('GATEWAY_API_KEYS has no name:token entries');
  }
  const file = env.string('GATEWAY_API_KEYS_FILE', '');
  if (file !== '') {
    const before = entries.length;
    try {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        const text = line.trim();
        if (text !== '' && !text.startsWith('#')) entries.push({ text, where: `GATEWAY_API_KEYS_FILE line ${i + 1}` });
      });
      if (entries.length === before) problems.push(`GATEWAY_API_KEYS_FILE ${file} has no name:token lines`);
    } catch (error) {
      problems.push(`GATEWAY_API_KEYS_FILE cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)} (${file})`);
    }
  }
  const keys = parseApiKeys(entries, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return keys;
}
