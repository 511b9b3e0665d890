import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileToken, resolveKubeTarget } from './kube-config.js';

const dir = mkdtempSync(join(tmpdir(), 'microscaler-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');

function kubeconfig(name: string, user: string, extra = ''): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: dev
contexts:
  - name: dev
    context: { cluster: c1, user: u1, namespace: team }
  - name: prod
    context: { cluster: c2, user: u1 }
clusters:
  - name: c1
    cluster: { server: "https://10.0.0.1:6443", certificate-authority-data: ${CA.toString('base64')} }
  - name: c2
    cluster: { server: "https://10.0.0.2:6443", insecure-skip-tls-verify: true }
users:
  - name: u1
    user: ${user}
${extra}`,
  );
  return file;
}

describe('kubeconfig', () => {
  test('token auth, CA data and the context namespace', () => {
    const file = kubeconfig('token.yaml', '{ token: abc }');
    const t = resolveKubeTarget({ kubeconfig: file, env: {} });
    assert.equal(t.connection.server, 'https://10.0.0.1:6443');
    assert.deepEqual(t.connection.ca, CA);
    assert.equal(t.connection.token?.(), 'abc');
    assert.equal(t.connection.insecure, undefined, 'verification stays on unless the file says otherwise');
    assert.equal(t.namespace, 'team');
    assert.ok(!t.connection.describe.includes('abc'), 'the description never holds the token');
  });

  test('another context; insecure-skip-tls-verify is honoured only where set', () => {
    const file = kubeconfig('ctx.yaml', '{ token: abc }');
    const t = resolveKubeTarget({ kubeconfig: file, context: 'prod', env: {} });
    assert.equal(t.connection.server, 'https://10.0.0.2:6443');
    assert.equal(t.connection.insecure, true);
    assert.equal(t.namespace, undefined);
  });

  test('client certificate and key as files, relative to the kubeconfig', () => {
    mkdirSync(join(dir, 'certs'), { recursive: true });
    writeFileSync(join(dir, 'certs/client.crt'), 'CERT');
    writeFileSync(join(dir, 'certs/client.key'), 'KEY');
    const file = kubeconfig(
      'cert.yaml',
      '{ client-certificate: certs/client.crt, client-key: certs/client.key }',
    );
    const t = resolveKubeTarget({ kubeconfig: file, env: {} });
    assert.equal(t.connection.cert?.toString(), 'CERT');
    assert.equal(t.connection.key?.toString(), 'KEY');
    assert.equal(t.connection.token, undefined);
  });

  test('$KUBECONFIG is used outside a cluster; clear errors for what cannot work', () => {
    const file = kubeconfig('env.yaml', '{ token: abc }');
    assert.equal(
      resolveKubeTarget({ env: { KUBECONFIG: `${file}:/nope` } }).connection.server,
      'https://10.0.0.1:6443',
    );
    assert.throws(
      () => resolveKubeTarget({ kubeconfig: file, context: 'nope', env: {} }),
      /no context named "nope" in .*env\.yaml/,
    );
    const exec = kubeconfig('exec.yaml', '{ exec: { command: aws } }');
    assert.throws(() => resolveKubeTarget({ kubeconfig: exec, env: {} }), /exec plugins are not supported/);
    assert.throws(
      () => resolveKubeTarget({ env: {}, home: join(dir, 'nobody') }),
      /cannot read the kubeconfig .*nobody\/\.kube\/config/,
    );
  });

  test('in a cluster: the service account wins over $KUBECONFIG', () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'tok\n');
    writeFileSync(join(sa, 'ca.crt'), CA);
    writeFileSync(join(sa, 'namespace'), 'apps');
    const t = resolveKubeTarget({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443', KUBECONFIG: '/nope' },
      serviceAccountDir: sa,
    });
    assert.equal(t.connection.server, 'https://[fd00::1]:443');
    assert.equal(t.connection.token?.(), 'tok');
    assert.equal(t.namespace, 'apps');
  });

  test('a token file is re-read when it changes, not before', () => {
    const path = join(dir, 'rotating');
    writeFileSync(path, 'one');
    const token = fileToken(path);
    assert.equal(token(), 'one');
    writeFileSync(path, 'two-longer');
    assert.equal(token(), 'two-longer');
    rmSync(path);
    assert.throws(() => token(), /cannot read the token file/);
  });
});
