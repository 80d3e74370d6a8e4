# syntax=docker/dockerfile:1
# Rampart server image: `docker build -t rampart .`
#
# Stages: build (all dependencies, TypeScript -> dist/), deps (production
# dependencies only) and the final image (dist/ + production node_modules,
# non-root, read-only root file system friendly). docs/deployment.md explains
# how to run it; test/deploy/deployment-files.test.ts checks this file against
# the code.
#
# Optional peer packages installed in the image (build argument OPTIONAL_PEERS):
#   @electric-sql/pglite  the embedded database (a single container without DATABASE_URL)
#   @fastify/swagger-ui   the OpenAPI reference UI at /docs, which `rampart serve` mounts
# Others are added by name, e.g. --build-arg OPTIONAL_PEERS="@electric-sql/pglite
# @fastify/swagger-ui @aws-sdk/client-kms" for RAMPART_KMS=aws-kms; versions come
# from package-lock.json. (pkcs11js, for an HSM, also needs a compiler and its
# install script: not covered by this file.)
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the build needs only tsc (the dev-only native addon pkcs11js is not compiled).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
ARG OPTIONAL_PEERS="@electric-sql/pglite @fastify/swagger-ui"
WORKDIR /app
COPY package.json package-lock.json ./
# npm never installs optional peers, and these are also devDependencies (for the
# tests): make each a production dependency at its peer range, which resolves to
# the version package-lock.json pins. Production dependencies have no install scripts.
RUN for p in $OPTIONAL_PEERS; do \
      npm pkg set "dependencies[$p]=$(npm pkg get "peerDependencies[$p]" | tr -d '"')" \
      && npm pkg delete "devDependencies[$p]"; \
    done \
 && npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    RAMPART_DATA_DIR=/var/lib/rampart
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
# The data directory is the only place Rampart writes (embedded database, upload
# blobs, development keys); /tmp is the other writable path a read-only root needs.
RUN mkdir -p /var/lib/rampart && chown 1000:1000 /var/lib/rampart && chmod 0700 /var/lib/rampart
VOLUME ["/var/lib/rampart"]
# The `node` user of the base image, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
# Liveness only (the process answers); readiness (/health/ready) is for load balancers.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
