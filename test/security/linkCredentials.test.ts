import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfigError, Environment } from '../../lib/config.js';
import { readLinkCredentials } from '../../lib/security/linkCredentials.js';
import { createTestAuthority, linkTlsEnv, opensslAvailable, type IssuedCertificate, type TestAuthority } from './testCertificates.js';

const problemsOf = (variables: Record<string, string>): string[] => {
  try {
    readLinkCredentials(new Environment(variables));
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
};

test('without any LINK_TLS_* variable the links are insecure, as before', () => {
  assert.equal(readLinkCredentials(new Environment({})).mode, 'off');
});

describe('link TLS settings', { skip: !opensslAvailable() && 'the openssl CLI is not installed' }, () => {
  let authority: TestAuthority;
  let service: IssuedCertificate;
  before(() => {
    authority = createTestAuthority();
    service = authority.issue('service');
  });
  after(() => authority.remove());

  test('all three files give mutual TLS by default, TLS alone with LINK_TLS_CLIENT_AUTH=off', () => {
    assert.equal(readLinkCredentials(new Environment(linkTlsEnv(authority, service))).mode, 'mtls');
    assert.equal(readLinkCredentials(new Environment(linkTlsEnv(authority, service, { LINK_TLS_CLIENT_AUTH: 'off' }))).mode, 'tls');
    const named = readLinkCredentials(new Environment(linkTlsEnv(authority, service, { LINK_TLS_SERVER_NAME: 'mesh.internal' })));
    assert.equal(named.channelOptions['grpc.ssl_target_name_override'], 'mesh.internal');
  });

  test('a partial set, an unreadable or wrong file, or TLS-only settings without TLS are a ConfigError naming the variable', () => {
    const full = linkTlsEnv(authority, service);
    assert.deepEqual(problemsOf({ LINK_TLS_CERT_FILE: service.cert }).map((problem) => problem.split(' ')[0]), ['LINK_TLS_KEY_FILE', 'LINK_TLS_CA_FILE']);
    assert.match(problemsOf({ ...full, LINK_TLS_CA_FILE: '/nonexistent/ca.crt' }).join(), /^LINK_TLS_CA_FILE cannot be read: ENOENT/);
    assert.deepEqual(problemsOf({ ...full, LINK_TLS_CERT_FILE: service.key }), ['LINK_TLS_CERT_FILE does not hold a PEM certificate']);
    assert.deepEqual(problemsOf({ ...full, LINK_TLS_KEY_FILE: authority.caFile }), ['LINK_TLS_KEY_FILE does not hold a PEM private key']);
    assert.deepEqual(problemsOf({ ...full, LINK_TLS_KEY_FILE: `${authority.directory}/ca.key` }), ['LINK_TLS_KEY_FILE is not the key of the certificate in LINK_TLS_CERT_FILE']);
    assert.deepEqual(problemsOf({ ...full, LINK_TLS_CLIENT_AUTH: 'optional' }), ['LINK_TLS_CLIENT_AUTH must be one of require, off, got "optional"']);
    assert.match(problemsOf({ LINK_TLS_CLIENT_AUTH: 'require' }).join(), /^LINK_TLS_CLIENT_AUTH is set but link TLS is off/);
  });

  test('a stage with a partial TLS configuration exits at start-up with status 2, naming what is missing', () => {
    const sink = fileURLToPath(new URL('../../services/sink/main.js', import.meta.url));
    const result = spawnSync(process.execPath, [sink], { env: { ...process.env, LINK_TLS_CERT_FILE: service.cert }, encoding: 'utf8', timeout: 10_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /LINK_TLS_KEY_FILE must be set too/);
  });
});
