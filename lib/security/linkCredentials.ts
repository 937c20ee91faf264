import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ConfigError, type Environment } from '../config.js';

/** How this service's links are secured: its server side (upstream dials it) and its client side (it dials downstream). */
export interface LinkCredentials {
  /** 'off' (insecure), 'tls' (servers do not ask for a client certificate) or 'mtls'. */
  mode: 'off' | 'tls' | 'mtls';
  server: grpc.ServerCredentials;
  client: grpc.ChannelCredentials;
  channelOptions: grpc.ChannelOptions;
}

const fileVariables = ['LINK_TLS_CERT_FILE', 'LINK_TLS_KEY_FILE', 'LINK_TLS_CA_FILE'] as const;
const tlsOnlyVariables = ['LINK_TLS_CLIENT_AUTH', 'LINK_TLS_SERVER_NAME'] as const;

/**
 * Reads LINK_TLS_CERT_FILE, LINK_TLS_KEY_FILE and LINK_TLS_CA_FILE (all or
 * none), LINK_TLS_CLIENT_AUTH (require | off, default require) and
 * LINK_TLS_SERVER_NAME. With none set the links are insecure, as before.
 * The certificate serves both as this service's server certificate and as its
 * client certificate. Files are read and checked now, so a bad one stops the
 * service at start-up (ConfigError naming the variable), not at its first link.
 */
export function readLinkCredentials(env: Environment): LinkCredentials {
  const problems: string[] = [];
  const paths = fileVariables.map((name) => env.string(name, ''));
  const clientAuth = env.string('LINK_TLS_CLIENT_AUTH', 'require');
  const serverName = env.string('LINK_TLS_SERVER_NAME', '');
  if (paths.every((path) => path === '')) {
    const stray = tlsOnlyVariables.filter((name) => env.string(name, '') !== '');
    if (stray.length > 0) throw new ConfigError(stray.map((name) => `${name} is set but link TLS is off (set ${fileVariables.join(', ')})`));
    return { mode: 'off', server: grpc.ServerCredentials.createInsecure(), client: grpc.credentials.createInsecure(), channelOptions: {} };
  }
  fileVariables.forEach((name, i) => {
    if (paths[i] === '') problems.push(`${name} must be set too: link TLS needs ${fileVariables.join(', ')} together`);
  });
  if (clientAuth !== 'require' && clientAuth !== 'off') problems.push(`LINK_TLS_CLIENT_AUTH must be one of require, off, got "${clientAuth}"`);
  if (problems.length > 0) throw new ConfigError(problems);

  const [cert, key, ca] = fileVariables.map((name, i) => readPem(name, paths[i]!, problems));
  if (cert && key) checkKeyPair(cert, key, problems);
  if (ca) checkCertificate('LINK_TLS_CA_FILE', ca, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const mode = clientAuth === 'require' ? 'mtls' : 'tls';
  return {
    mode,
    server: grpc.ServerCredentials.createSsl(ca!, [{ cert_chain: cert!, private_key: key! }], mode === 'mtls'),
    client: grpc.credentials.createSsl(ca!, key!, cert!),
    channelOptions: serverName === '' ? {} : { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName },
  };
}

function readPem(variable: string, path: string, problems: string[]): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    problems.push(`${variable} cannot be read: ${(error as NodeJS.ErrnoException).code ?? String(error)} (${path})`);
    return undefined;
  }
}

function checkCertificate(variable: string, pem: Buffer, problems: string[]): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    problems.push(`${variable} does not hold a PEM certificate`);
    return undefined;
  }
}

// The messages say which file is wrong but never quote a key.
function checkKeyPair(certPem: Buffer, keyPem: Buffer, problems: string[]): void {
  const certificate = checkCertificate('LINK_TLS_CERT_FILE', certPem, problems);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    problems.push('LINK_TLS_KEY_FILE does not hold a PEM private key');
    return;
  }
  if (certificate && !certificate.checkPrivateKey(key)) problems.push('LINK_TLS_KEY_FILE is not the key of the certificate in LINK_TLS_CERT_FILE');
}
