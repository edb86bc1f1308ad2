import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { envProblems, envSchema, parseEnv } from '../../src/config/env.js';
import { bindHost, deploymentProblems } from '../../src/config/deployment.js';
import { projectRoot } from '../helpers/roster-process.js';

const K8S = path.join(projectRoot, 'deploy/k8s');
const require = createRequire(import.meta.url);

/**
 * The kubernetes-models class of each kind: its validate() checks an object against the JSON
 * schema of the Kubernetes API that the package bundles (ajv; no cluster, no network).
 */
const MODELS: Record<string, string> = {
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'v1/Service': 'kubernetes-models/v1/Service',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
};

type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string } };

function manifests(): Array<{ file: string; doc: Manifest }> {
  return readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(path.join(K8S, file), 'utf8')).map((d) => {
        expect(d.errors).toEqual([]);
        return { file, doc: d.toJS() as Manifest };
      }),
    );
}

function validate(doc: Manifest): void {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const modulePath = MODELS[key];
  if (!modulePath) throw new Error(`no schema for ${key}`);
  const Model = (require(modulePath) as Record<string, new (data: unknown) => { validate(): void }>)[doc.kind]!;
  new Model(doc).validate();
}

describe('Kubernetes manifests (deploy/k8s)', () => {
  const all = manifests();
  const byKind = (kind: string) => all.find((m) => m.doc.kind === kind)!.doc as any; // eslint-disable-line @typescript-eslint/no-explicit-any -- manifest shapes are checked by the schemas above

  it('every manifest validates against the bundled Kubernetes API schemas', () => {
    expect(all.map((m) => m.doc.kind).sort()).toEqual(['Deployment', 'PodDisruptionBudget', 'Service']);
    for (const { file, doc } of all) {
      expect(() => validate(doc)).not.toThrow();
      expect(file).toBe(`${doc.kind === 'PodDisruptionBudget' ? 'pdb' : doc.kind.toLowerCase()}.yaml`);
    }
  });

  it('the validator does catch a broken manifest', () => {
    const broken = structuredClone(byKind('Deployment'));
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => validate(broken)).toThrow(/containerPort must be integer/);
    const noSelector = structuredClone(byKind('PodDisruptionBudget'));
    noSelector.spec.maxUnavailable = [1];
    expect(() => validate(noSelector)).toThrow();
  });

  it('probes /readyz and /healthz on the port Roster listens on; the Service and the budget select its pods', () => {
    const deployment = byKind('Deployment');
    const pod = deployment.spec.template;
    const [container] = pod.spec.containers;
    const env = Object.fromEntries(container.env.map((e: { name: string; value?: string }) => [e.name, e.value]));
    const port = container.ports.find((p: { name: string }) => p.name === 'http');
    expect(Number(env.PORT)).toBe(port.containerPort);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(env.NODE_ENV).toBe('production');
    expect(env.ROSTER_PUBLIC_URL).toMatch(/^https:\/\//);
    // Every variable set is one Roster reads (a typo would silently do nothing).
    for (const { name } of container.env) expect(Object.keys(envSchema.shape)).toContain(name);
    // The pod gets time for the preStop pause and Roster's own graceful stop.
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(env.ROSTER_SHUTDOWN_TIMEOUT_S) + 5);
    expect(container.volumeMounts.find((v: { name: string }) => v.name === 'org').mountPath).toBe('/app/config');

    const labels = pod.metadata.labels;
    const service = byKind('Service');
    expect(service.spec.selector).toEqual(labels);
    expect(service.spec.ports[0].targetPort).toBe('http');
    const pdb = byKind('PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(labels);
    expect(deployment.spec.replicas).toBeGreaterThan(pdb.spec.maxUnavailable);
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);

    // With the Secret filled in, Roster starts with this environment, on every interface (so the probes reach it).
    const secrets: Record<string, string> = {
      MONGODB_URI: 'mongodb://mongo-0.mongo:27017/roster?replicaSet=rs0',
      ROSTER_OAUTH_KEK: Buffer.alloc(32, 1).toString('base64'),
      ROSTER_EVAL_SECRET_KEY: 'cd'.repeat(32),
      ROSTER_DASHBOARD_SECRET: 'ef'.repeat(32),
      ROSTER_CHART_SECRET: '12'.repeat(32),
      ROSTER_AUDIT_SIGNING_KEY: Buffer.alloc(32, 2).toString('base64'),
    };
    const required = container.env.filter(
      (e: { valueFrom?: { secretKeyRef?: { key: string; optional?: boolean } } }) =>
        e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional,
    );
    expect(required.map((e: { name: string }) => e.name).sort()).toEqual(Object.keys(secrets).sort());
    const parsed = parseEnv({ ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)), ...secrets });
    expect(parsed).toMatchObject({ ok: true });
    const runtime = (parsed as { env: Parameters<typeof bindHost>[0] }).env;
    expect([...envProblems(runtime), ...deploymentProblems(runtime)]).toEqual([]);
    expect(bindHost(runtime)).toBeUndefined();
    const metricsPort = container.ports.find((p: { name: string }) => p.name === 'metrics').containerPort;
    expect(runtime.ROSTER_METRICS_PORT).toBe(metricsPort);
    expect(Number(pod.metadata.annotations['prometheus.io/port'])).toBe(metricsPort);

    const kustomization = parseAllDocuments(readFileSync(path.join(K8S, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
      resources: string[];
    };
    expect(kustomization.resources.sort()).toEqual([...new Set(all.map((m) => m.file))].sort());
  });
});
