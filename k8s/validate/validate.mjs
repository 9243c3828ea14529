// Validates rendered Kubernetes manifests (a multi-document YAML stream on stdin, e.g. the output of
// `kubectl kustomize k8s/overlays/cluster`) against the Kubernetes JSON schemas shipped in the
// kubernetes-models package and the Prometheus Operator CRDs of @kubernetes-models/prometheus-operator.
// Offline once `npm ci` has run. Prints one line per object; exits 1 on
// any invalid or unknown object.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as rbac from "kubernetes-models/rbac.authorization.k8s.io/v1";
import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const models = {
  v1: core,
  "apps/v1": apps,
  "rbac.authorization.k8s.io/v1": rbac,
  "monitoring.coreos.com/v1": monitoring,
};
let failed = 0;
let count = 0;
for (const doc of parseAllDocuments(readFileSync(0, "utf8"))) {
  if (doc.errors.length > 0) {
    console.log(`invalid YAML: ${doc.errors[0].message}`);
    failed++;
    continue;
  }
  const obj = doc.toJS();
  if (obj === null) continue;
  count++;
  const name = `${obj.apiVersion}/${obj.kind} ${obj.metadata?.name}`;
  const Model = models[obj.apiVersion]?.[obj.kind];
  if (!Model) {
    console.log(`unknown: ${name}`);
    failed++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`valid: ${name}`);
  } catch (e) {
    console.log(`invalid: ${name}: ${e.message}`);
    failed++;
  }
}
console.log(`${count} objects, ${failed} invalid`);
process.exit(failed === 0 && count > 0 ? 0 : 1);
