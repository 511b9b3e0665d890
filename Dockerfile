# microscaler as a container. BASE is any Node 20 image: the official one by default; CI builds from
# microscaler/node-base:local (scripts/build-node-base.sh), since no image registry is reachable there.
#   docker build -t microscaler .
#   docker run -v /var/run/docker.sock:/var/run/docker.sock --group-add $(stat -c %g /var/run/docker.sock) \
#     -v $PWD/microscaler.yaml:/etc/microscaler/microscaler.yaml:ro -p 8080:8080 microscaler
ARG BASE=node:20-bookworm-slim

# Build stage: dev dependencies compile dist/, then leave with only the production ones.
FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${BASE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/src/dashboard ./src/dashboard
# Not root: to use the Docker socket, run with --group-add <the socket's group id>.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "bin/microscaler.js"]
CMD ["run", "-c", "/etc/microscaler/microscaler.yaml", "--listen", "0.0.0.0:8080"]
