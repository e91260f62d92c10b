# The consumer image: `centralog consume`, reading Kinesis and writing to OpenSearch.
# TypeScript runs directly through tsx (a production dependency), so there is no build stage.
FROM node:20-bookworm-slim

ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
WORKDIR /app

# Dependencies first, so the layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Only what the consumer loads at run time; infra/ because it installs the index templates.
COPY tsconfig.json ./
COPY cli/ cli/
COPY consumers/ consumers/
COPY processors/ processors/
COPY local/ local/
COPY infra/ infra/

# Files stay root-owned: the process can read its code but not change it.
USER node

# /metrics and /healthz. The status server binds 127.0.0.1 unless told otherwise; set
# CENTRALOG_STATUS_HOST=0.0.0.0 for a scraper outside the container's network namespace.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:${CENTRALOG_STATUS_PORT:-9464}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# A fixed heap ceiling makes the worker's memory bound hold in RSS too (V8 otherwise grows
# the heap lazily towards a quarter of the host's memory); a larger young generation cuts
# garbage-collection time on the decode -> document -> NDJSON path. `npm run bench -- consumer`
# runs the worker with these same flags.
ENTRYPOINT ["node", "--max-old-space-size=384", "--max-semi-space-size=16", "--openssl-legacy-provider", "cli/bin.mjs", "consume"]
