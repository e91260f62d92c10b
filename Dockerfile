# The consumer image: `centralog consume`, reading Kinesis and writing to OpenSearch.
# Build stage: compiles the TypeScript into one JavaScript bundle (the build fails if it would
# load an emulator, the CDK, tsx or test code). Runtime stage: production packages and dist/cli only.
FROM node:20-bookworm-slim AS build

WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts, as with npm 11 where this is tested: esbuild runs from its prebuilt binary.
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY tsconfig.json ./
COPY scripts/ scripts/
COPY cli/ cli/
COPY consumers/ consumers/
COPY processors/ processors/
COPY infra/ infra/
# No local/, bench/ or test/: the demo that uses local/ is loaded with import() and stays out of
# the bundle, so nothing the image runs can need them.
RUN npm run build


FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app

# Dependencies first, so the layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The bundle and, laid out beside it, the data files it reads (the index templates it installs at start).
COPY --from=build /src/dist/cli/ dist/cli/

# Files stay root-owned: the process can read its code but not change it.
USER node

# /metrics and /healthz. The status server binds 127.0.0.1 unless told otherwise; set
# CENTRALOG_STATUS_HOST=0.0.0.0 for a scraper outside the container's network namespace.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:${CENTRALOG_STATUS_PORT:-9464}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# A fixed heap ceiling makes the worker's memory bound hold in RSS too (V8 otherwise grows
# the heap lazily towards a quarter of the host's memory); a larger young generation cuts
# garbage-collection time on the decode -> document -> NDJSON path. The task has half a vCPU
# (consumer.cpu 512): V8's parallel GC helper threads only contend with the worker for it, and
# collecting on the main thread alone cut the benchmark's CPU per event by about 15% (84-91
# against 92-109 µs on 2 shared cores). `npm run bench -- consumer` runs the worker with these same flags.
ENTRYPOINT ["node", "--max-old-space-size=384", "--max-semi-space-size=16", "--single-threaded-gc", "--openssl-legacy-provider", "dist/cli/centralog.mjs", "consume"]
