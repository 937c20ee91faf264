import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Environment } from '../../lib/config.js';
import { bindServer, createFlowServer } from '../../lib/flow/FlowServer.js';
import { LinkSender } from '../../lib/flow/LinkSender.js';
import { readLinkCredentials, type LinkCredentials } from '../../lib/security/linkCredentials.js';
import { makeEvents } from '../helpers/events.js';
import { consumeAll, testReceiverOptions } from '../helpers/receivers.js';
import { createTestAuthority, linkTlsEnv, opensslAvailable, type TestAuthority } from './testCertificates.js';
import { tryOpen } from './tryOpen.js';

describe('TLS on the links', { skip: !opensslAvailable() && 'the openssl CLI is not installed' }, () => {
  let authority: TestAuthority;
  let stranger: TestAuthority;
  let receiver: LinkCredentials;
  let sender: LinkCredentials;
  let target: string;
  let server: grpc.Server;
  const arrived: string[] = [];

  before(async () => {
    authority = createTestAuthority();
    stranger = createTestAuthority('some-other-ca');
    receiver = readLinkCredentials(new Environment(linkTlsEnv(authority, authority.issue('receiver'))));
    sender = readLinkCredentials(new Environment(linkTlsEnv(authority, authority.issue('sender'))));
    server = createFlowServer(testReceiverOptions, consumeAll(arrived));
    target = `127.0.0.1:${await bindServer(server, '127.0.0.1:0', receiver.server)}`;
  });
  after(() => {
    server.forceShutdown();
    authority.remove();
    stranger.remove();
  });

  test('a receiver that requires client certificates refuses an insecure client', async () => {
    assert.equal(await tryOpen(target, grpc.credentials.createInsecure()), 'UNAVAILABLE');
  });

  test('it refuses a TLS client without a client certificate', async () => {
    assert.equal(await tryOpen(target, grpc.credentials.createSsl(readFileSync(authority.caFile))), 'UNAVAILABLE');
  });

  test('it refuses a client whose certificate another CA signed', async () => {
    const foreign = stranger.issue('foreign');
    const credentials = grpc.credentials.createSsl(readFileSync(authority.caFile), readFileSync(foreign.key), readFileSync(foreign.cert));
    assert.equal(await tryOpen(target, credentials), 'UNAVAILABLE');
  });

  test('a client that does not trust the CA refuses the receiver', async () => {
    const insider = authority.issue('insider');
    const credentials = grpc.credentials.createSsl(readFileSync(stranger.caFile), readFileSync(insider.key), readFileSync(insider.cert));
    assert.equal(await tryOpen(target, credentials), 'UNAVAILABLE');
  });

  test('a LinkSender with a certificate the CA signed opens the link, and its events arrive', async () => {
    const link = new LinkSender({ target, link: 'tls-test', sender: 'tls-sender', credentials: sender.client, channelOptions: sender.channelOptions });
    try {
      const events = makeEvents(120);
      await link.send(events);
      const deadline = Date.now() + 5_000;
      while (arrived.length < events.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(arrived, events.map((event) => event.id));
    } finally {
      await link.close();
    }
  });

  test('with LINK_TLS_CLIENT_AUTH=off the receiver takes TLS clients without a certificate, and still no insecure one', async () => {
    const relaxed = readLinkCredentials(new Environment(linkTlsEnv(authority, authority.issue('relaxed'), { LINK_TLS_CLIENT_AUTH: 'off' })));
    const open = createFlowServer(testReceiverOptions, consumeAll([]));
    const openTarget = `127.0.0.1:${await bindServer(open, '127.0.0.1:0', relaxed.server)}`;
    try {
      assert.equal(await tryOpen(openTarget, grpc.credentials.createSsl(readFileSync(authority.caFile))), 'opened');
      assert.equal(await tryOpen(openTarget, grpc.credentials.createInsecure()), 'UNAVAILABLE');
    } finally {
      open.forceShutdown();
    }
  });

  test('LINK_TLS_SERVER_NAME checks the receiver against the name in its certificate instead of the address dialled', async () => {
    const named = readLinkCredentials(new Environment(linkTlsEnv(authority, authority.issue('named', ['DNS:sink.mesh.internal']))));
    const namedServer = createFlowServer(testReceiverOptions, consumeAll([]));
    const namedTarget = `127.0.0.1:${await bindServer(namedServer, '127.0.0.1:0', named.server)}`;
    try {
      assert.equal(await tryOpen(namedTarget, sender.client), 'UNAVAILABLE', '127.0.0.1 is not a name in its certificate');
      const overridden = readLinkCredentials(new Environment(linkTlsEnv(authority, authority.issue('caller'), { LINK_TLS_SERVER_NAME: 'sink.mesh.internal' })));
      assert.equal(await tryOpen(namedTarget, overridden.client, overridden.channelOptions), 'opened');
    } finally {
      namedServer.forceShutdown();
    }
  });
});
