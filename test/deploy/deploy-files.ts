/** Readers for the deployment files: the final stage of a Dockerfile, Kubernetes shapes, credential patterns. */

export interface DockerImage {
  env: Record<string, string>;
  user: string | undefined;
  expose: string[];
  volumes: string[];
  healthcheck: string;
  entrypoint: unknown;
  cmd: unknown;
}

/** The instructions of the last stage (after the last FROM), continuation lines joined. */
export function dockerfile(text: string): DockerImage {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const last = lines.map((l) => l.split(/\s+/)[0]!.toUpperCase()).lastIndexOf("FROM");
  const image: DockerImage = { env: {}, user: undefined, expose: [], volumes: [], healthcheck: "", entrypoint: undefined, cmd: undefined };
  for (const line of lines.slice(last + 1)) {
    const [op, rest] = [line.split(/\s+/)[0]!.toUpperCase(), line.slice(line.indexOf(" ") + 1).trim()];
    if (op === "ENV") for (const m of rest.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) image.env[m[1]!] = m[2]!.replace(/^"|"$/g, "");
    else if (op === "USER") image.user = rest;
    else if (op === "EXPOSE") image.expose.push(...rest.split(/\s+/));
    else if (op === "VOLUME") image.volumes.push(...(rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/)));
    else if (op === "HEALTHCHECK") image.healthcheck = rest;
    else if (op === "ENTRYPOINT") image.entrypoint = JSON.parse(rest);
    else if (op === "CMD") image.cmd = JSON.parse(rest);
  }
  return image;
}

export interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  startupProbe?: { httpGet?: unknown };
  livenessProbe?: { httpGet?: unknown };
  readinessProbe?: { httpGet?: unknown };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

export interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  volumes?: { name: string; hostPath?: unknown; secret?: { secretName: string } }[];
}

export interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec: any;
}

/** Names of the variables a container sets itself (`env`; `envFrom` is the ConfigMap's keys). */
export function envNamesOf(c: Container): string[] {
  return (c.env ?? []).map((e) => e.name);
}

/** Strings that look like credentials: URLs with a password, and 32-byte hex keys. */
export function secretValuesIn(text: string): string[] {
  const urls = [...text.matchAll(/[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]*:[^\s@/'"]+@/gi)].map((m) => m[0]);
  const keys = [...text.matchAll(/\b[0-9a-f]{64}\b/gi)].map((m) => m[0]);
  return [...urls, ...keys];
}
