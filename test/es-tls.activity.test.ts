/**
 * Elasticsearch over HTTPS with a CA of its own: the runbook's `ca` makes the activities trust it, and a certificate
 * that is not trusted (unknown CA, self-signed in the chain, another host name) is a non-retryable configuration
 * failure naming the field to set, not an unreachable site. The emulator serves the OVH emulator's test certificates.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureTlsMaterial, type TlsMaterial } from '../dev/ovh-emulator/tls';
import {
  ES_TEST_PAIR,
  esActivityEnv,
  failureOf,
  runIn,
  startEsTestPair,
  type EsTestPair,
  type EsTestPairOptions,
} from './helpers/es';

const pairInput = { pair: ES_TEST_PAIR };

describe('Elasticsearch over HTTPS with its own CA', () => {
  let dir: string;
  let tls: TlsMaterial;
  let t: EsTestPair | undefined;
  const env = esActivityEnv();

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'es-tls-'));
    tls = ensureTlsMaterial(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  async function pair(options: EsTestPairOptions): Promise<EsTestPair> {
    t = await startEsTestPair({ ...options });
    await t.followed(['orders', 'customers'], 2, 1);
    return t;
  }
  const served = (cert: string) => ({ cert, key: tls.keyPem, ca: tls.caPem });

  it("trusts the cluster with the runbook's ca and works over HTTPS", async () => {
    const p = await pair({ tls: served(tls.certPem), runbookCa: `file:${tls.caCertPath}` });
    expect(p.emulator.cluster('rbx').url).toMatch(/^https:/);
    const status = await runIn(env, p.activities.esFollowerStatus, pairInput);
    expect(status.indices.map((i) => i.state)).toEqual(['active', 'active']);
    const health = await runIn(env, p.activities.esClusterHealth, { ...pairInput, site: 'rbx' });
    expect(health).toMatchObject({ reachable: true, status: 'green' });
  });

  it('without the ca, an unknown CA is EsCertificateUntrusted naming the field, also for a health observation', async () => {
    const p = await pair({ tls: served(tls.certPem) });
    const failure = await failureOf(
      runIn(env, p.activities.esConfigureRemoteCluster, { ...pairInput, site: 'rbx' }),
    );
    expect(failure).toMatchObject({ type: 'EsCertificateUntrusted', nonRetryable: true });
    expect(failure.message).toBe(
      `rbx: the cluster's certificate is not trusted (unable to verify the first certificate): set elasticsearch.clusters[1].ca to the CA certificate that signed it ("file:PATH"), or give the cluster a certificate that names the url's host`,
    );
    const health = await failureOf(runIn(env, p.activities.esClusterHealth, { ...pairInput, site: 'gra' }));
    expect(health).toMatchObject({ type: 'EsCertificateUntrusted', nonRetryable: true });
    expect(health.message).toMatch(/^gra: .*elasticsearch\.clusters\[0\]\.ca/);
  });

  it('a self-signed CA in the chain the cluster presents is EsCertificateUntrusted', async () => {
    const p = await pair({ tls: served(tls.certPem + tls.caPem) });
    const failure = await failureOf(runIn(env, p.activities.esFollowerStatus, pairInput));
    expect(failure).toMatchObject({ type: 'EsCertificateUntrusted', nonRetryable: true });
    expect(failure.message).toMatch(/self-signed certificate in certificate chain/);
  });

  it('a certificate that does not name the host is EsCertificateUntrusted, even with the right ca', async () => {
    const p = await pair({
      tls: served(tls.certPem),
      host: '127.0.0.2',
      runbookCa: `file:${tls.caCertPath}`,
    });
    const failure = await failureOf(runIn(env, p.activities.esFollowerStatus, pairInput));
    expect(failure).toMatchObject({ type: 'EsCertificateUntrusted', nonRetryable: true });
    expect(failure.message).toMatch(/Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.2/);
  });

  it('a ca file that cannot be read is SecretUnavailable, naming the reference', async () => {
    const p = await pair({ tls: served(tls.certPem), runbookCa: `file:${dir}/missing-ca.crt` });
    const failure = await failureOf(runIn(env, p.activities.esFollowerStatus, pairInput));
    expect(failure).toMatchObject({ type: 'SecretUnavailable', nonRetryable: true });
    expect(failure.message).toMatch(/CA certificate.*missing-ca\.crt/);
    expect(readFileSync(tls.caCertPath, 'utf8')).toContain('BEGIN CERTIFICATE');
  });
});
