# One image for every service; docker-compose.yml picks the command.
FROM node:24-slim AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1
RUN npm install -g pnpm@10.34.9
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm exec prisma generate \
 && pnpm exec turbo run build

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production CHECKPOINT_DISABLE=1 HOST=0.0.0.0
COPY --from=build /app /app
USER node
