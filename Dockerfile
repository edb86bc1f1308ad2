# Roster in production: a real MongoDB 6+ via MONGODB_URI (the embedded database is for local use).
# Build: docker build -t roster .
# Run:   docker run -e MONGODB_URI=… -e ROSTER_PUBLIC_URL=… -e ROSTER_OAUTH_KEK=… -e ROSTER_EVAL_SECRET_KEY=… -e ROSTER_AUDIT_SIGNING_KEY=… -e ROSTER_CHART_SECRET=… -v /path/to/your/org:/app/config:ro -p 3978:3978 roster
# The image carries the sample organisation, which production refuses: mount your own config/.

# Node 24 is the Active LTS line.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Fixes to dependencies, applied by the postinstall script (see patches/).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production PORT=3978
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node config ./config
COPY --chown=node:node flows ./flows
COPY --chown=node:node cards ./cards
COPY --chown=node:node bin ./bin
USER node
EXPOSE 3978
# Probes the port Roster really listens on: PORT may be changed at run time (docker run -e PORT=8080).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3978)+'/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/main.js"]
