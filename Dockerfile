# The worker (and drctl), compiled: `npm run build` in a build stage, then only the production dependencies, dist/
# and the runbooks in the image. Used by docker-compose.yml's worker service.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/config/runbooks ./config/runbooks
USER node
CMD ["node", "dist/worker/main.js"]
