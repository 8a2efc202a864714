import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from '../helpers/cli.js';

// deploy/: the Kubernetes manifests (base and the ha/ overlay), the Compose file and the secret
// examples, read as YAML and cross-checked the way `kubectl apply -k` and `docker compose` would
// use them. No cluster or container engine is needed (there is none on CI); what can be checked
// without one is checked here.

const deploy = path.join(ROOT, 'deploy');
const yamlOf = <T = Record<string, unknown>>(file: string): T => parse(readFileSync(path.join(deploy, file), 'utf8')) as T;

interface Deployment {
  spec: {
    replicas: number;
    strategy: { type: string; rollingUpdate?: { maxUnavailable: number; maxSurge: number } };
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds: number;
        affinity?: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: Array<{ podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } } }> } };
        topologySpreadConstraints?: Array<{ topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }>;
        containers: Array<{ args: string[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } }; env: Array<{ name: string; value: string }>; volumeMounts: Array<{ name: string; mountPath: string }> }>;
        volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string } }>;
      };
    };
  };
}

describe('Kubernetes (base): works the first time on any cluster', () => {
  const kustomization = yamlOf<{ resources: string[] }>('kubernetes/kustomization.yaml');
  const deployment = yamlOf<Deployment>('kubernetes/deployment.yaml');
  const configMap = yamlOf<{ data: Record<string, string> }>('kubernetes/configmap.yaml');

  it('lists every manifest in the folder', () => {
    const files = readdirSync(path.join(deploy, 'kubernetes')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secret.example.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it('claims a ReadWriteOnce volume and runs one replica that a deploy replaces (Recreate)', () => {
    const pvc = yamlOf<{ metadata: { name: string }; spec: { accessModes: string[] } }>('kubernetes/persistentvolumeclaim.yaml');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteOnce']);
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
    expect(deployment.spec.template.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: pvc.metadata.name } });
  });

  it('has a PodDisruptionBudget selecting its pods', () => {
    const pdb = yamlOf<{ kind: string; spec: { maxUnavailable?: number; selector: { matchLabels: Record<string, string> } } }>('kubernetes/poddisruptionbudget.yaml');
    expect(pdb.kind).toBe('PodDisruptionBudget');
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    expect(pdb.spec.maxUnavailable).toBe(1);
  });

  it('asks /readyz (can serve) for readiness and /healthz for liveness, and stops within its grace period', () => {
    const container = deployment.spec.template.spec.containers[0]!;
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(container.args).toEqual(['node', 'bin/zoom-chat-archiver.js', 'serve']);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(Number(configMap.data['SHUTDOWN_TIMEOUT_MS']) / 1000 + 5);
    // Secrets arrive as files where the *_FILE variables point.
    const mount = container.volumeMounts.find((m) => m.name === 'secrets')!;
    for (const e of container.env.filter((v) => v.name.endsWith('_FILE'))) expect(e.value.startsWith(`${mount.mountPath}/`), e.name).toBe(true);
  });
});

describe('Kubernetes (ha overlay): two replicas that survive a node', () => {
  const overlay = yamlOf<{ resources: string[]; patches: Array<{ path: string }> }>('kubernetes/ha/kustomization.yaml');
  const patches = overlay.patches.map((p) => yamlOf<{ kind: string; metadata: { name: string }; spec: Record<string, unknown> }>(`kubernetes/ha/${p.path}`));
  const base = yamlOf<Deployment>('kubernetes/deployment.yaml');

  it('patches resources the base has, by kind and name', () => {
    expect(overlay.resources).toEqual(['../']);
    const baseResources = yamlOf<{ resources: string[] }>('kubernetes/kustomization.yaml').resources.map((f) => yamlOf<{ kind: string; metadata: { name: string } }>(`kubernetes/${f}`));
    for (const patch of patches) expect(baseResources.some((r) => r.kind === patch.kind && r.metadata.name === patch.metadata.name), `${patch.kind}/${patch.metadata.name}`).toBe(true);
  });

  it('runs two replicas rolling one at a time, spread over nodes and zones, on a ReadWriteMany volume, keeping one through a drain', () => {
    const deployment = patches.find((p) => p.kind === 'Deployment') as unknown as Deployment;
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const labels = base.spec.template.metadata.labels;
    const anti = deployment.spec.template.spec.affinity!.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]!.podAffinityTerm;
    expect(anti.topologyKey).toBe('kubernetes.io/hostname');
    expect(anti.labelSelector.matchLabels).toEqual(labels);
    const spread = deployment.spec.template.spec.topologySpreadConstraints!;
    expect(spread.map((s) => s.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const s of spread) expect(s.labelSelector.matchLabels).toEqual(labels);
    const pvc = patches.find((p) => p.kind === 'PersistentVolumeClaim') as unknown as { spec: { accessModes: string[]; storageClassName: string } };
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(pvc.spec.storageClassName).toBeTruthy();
    const pdb = patches.find((p) => p.kind === 'PodDisruptionBudget') as unknown as { spec: { minAvailable: number; maxUnavailable: null } };
    expect(pdb.spec).toEqual({ maxUnavailable: null, minAvailable: 1 });
  });
});

describe('Docker Compose', () => {
  const compose = yamlOf<{
    services: Record<string, { environment?: Record<string, string>; secrets?: string[]; user?: string }>;
    secrets: Record<string, { file: string }>;
  }>('docker-compose.yml');
  const text = readFileSync(path.join(deploy, 'docker-compose.yml'), 'utf8');

  it('has as many secret files to edit as its instructions say, each with an example, and the database password in one of them', () => {
    const files = Object.values(compose.secrets).map((s) => path.basename(s.file)).sort();
    const examples = readdirSync(path.join(deploy, 'secrets')).filter((f) => f.endsWith('.example')).map((f) => f.replace(/\.example$/, '')).sort();
    expect(files).toEqual(examples);
    const count = ['zero', 'one', 'two', 'three', 'four', 'five', 'six'][files.length];
    expect(text).toContain(`edit the ${count} files`);
    expect(readFileSync(path.join(ROOT, 'deploy', 'README.md'), 'utf8')).not.toMatch(/edit the (?!four)\w+ files/);
    // One password file serves both containers; the URL itself holds none.
    const archiver = compose.services['archiver']!;
    expect(archiver.environment?.['DATABASE_PASSWORD_FILE']).toBe('/run/secrets/postgres_password');
    expect(archiver.environment?.['DATABASE_URL']).toMatch(/^postgres:\/\/archiver@postgres:5432\/zoom_archive$/);
    expect(compose.services['postgres']!.environment?.['POSTGRES_PASSWORD_FILE']).toBe('/run/secrets/postgres_password');
    for (const [name, service] of Object.entries(compose.services)) {
      for (const secret of service.secrets ?? []) expect(compose.secrets[secret], `${name}: ${secret}`).toBeDefined();
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        if (variable.endsWith('_FILE')) expect(service.secrets, `${name}: ${variable}`).toContain(path.basename(value));
      }
    }
  });

  it('tells how to make the secrets readable inside the containers without swarm (uid 10001, gid 999)', () => {
    expect(text).toMatch(/chown 10001:999 secrets\/postgres_password/);
    expect(text).toMatch(/chown 10001 secrets\/zoom_\*/);
    expect(text).not.toMatch(/chmod 0?600 secrets/);
  });
});

describe('Every deploy file is valid YAML', () => {
  it('parses each document without errors', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (/\.ya?ml$/.test(e.name)) files.push(full);
      }
    };
    walk(deploy);
    expect(files.length).toBeGreaterThanOrEqual(14);
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) expect(doc.errors, file).toEqual([]);
    }
  });
});
