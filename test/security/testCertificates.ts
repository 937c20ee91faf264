import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface IssuedCertificate { cert: string; key: string }

export interface TestAuthority {
  directory: string;
  caFile: string;
  /** A certificate signed by this CA, for `names` (IP:… or DNS:… subjectAltNames), usable as server and as client. */
  issue(name: string, names?: string[]): IssuedCertificate;
  remove(): void;
}

/** Whether the openssl CLI is there to make certificates with. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A throwaway certificate authority in a temporary folder, valid for a day. */
export function createTestAuthority(commonName = 'flow-mesh-test-ca'): TestAuthority {
  const directory = mkdtempSync(path.join(tmpdir(), 'mesh-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: 'pipe' });
  openssl('req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', `/CN=${commonName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  return {
    directory,
    caFile: path.join(directory, 'ca.crt'),
    issue(name, names = ['IP:127.0.0.1', 'DNS:localhost']) {
      writeFileSync(path.join(directory, `${name}.ext`), [
        `subjectAltName=${names.join(',')}`,
        'extendedKeyUsage=serverAuth,clientAuth',
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature',
      ].join('\n'));
      openssl('req', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(8).toString('hex')}`,
        '-days', '1', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
      return { cert: path.join(directory, `${name}.crt`), key: path.join(directory, `${name}.key`) };
    },
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** The environment that gives a service `certificate` for its links, trusting `authority`. */
export function linkTlsEnv(authority: TestAuthority, certificate: IssuedCertificate, extra: Record<string, string> = {}): Record<string, string> {
  return { LINK_TLS_CERT_FILE: certificate.cert, LINK_TLS_KEY_FILE: certificate.key, LINK_TLS_CA_FILE: authority.caFile, ...extra };
}
