import { PrismaPg } from "@prisma/adapter-pg";
import { defineConfig } from "prisma/config";

// Prisma's binary engines cannot be downloaded on our machines: the CLI runs its bundled WASM schema engine
// through the pg driver adapter instead (see ../shared/PLATFORM.md).
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  async adapter() {
    return new PrismaPg({ connectionString: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/kronos" });
  },
});
