import { existsSync, readdirSync, readFileSync } from "node:fs";
import { configSchema } from "@kronos/shared";
import { describe, expect, it } from "vitest";

// The README and docs/ are part of the product: these checks keep them true to the code.
const root = new URL("../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const readme = read("README.md");
const configuration = read("docs/configuration.md");

describe("README", () => {
  it("names the two commands", () => {
    expect(readme).toContain("./scripts/run.sh");
    expect(readme).toContain("./scripts/test.sh");
  });

  it("stays a map: under about 200 lines", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(210);
  });
});

describe("docs/configuration.md", () => {
  it("documents every environment variable of the config schema", () => {
    const undocumented = Object.keys(configSchema.shape).filter((name) => !configuration.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it("documents no variable the config schema does not have (test-only ones aside)", () => {
    const table = configuration.slice(0, configuration.indexOf("Tests only"));
    const documented = [...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const unknown = [...new Set(documented)].filter((name) => !(name in configSchema.shape));
    expect(unknown).toEqual([]);
  });
});

describe("links", () => {
  it("every relative link and code path in the README and docs/ points to something that exists", () => {
    const files = [
      "README.md",
      "bench/README.md",
      ...readdirSync(new URL("docs/", root))
        .filter((name) => name.endsWith(".md"))
        .map((name) => `docs/${name}`),
    ];
    const missing: string[] = [];
    for (const file of files) {
      const text = read(file);
      const base = new URL(file, root);
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        if (!existsSync(new URL(target!, base))) missing.push(`${file}: ${target}`);
      }
    }
    // The capability map's code column: paths from the repository root.
    for (const [, path] of readme.matchAll(/`((?:services|packages)\/[^`\s]+)`/g)) {
      if (!existsSync(new URL(path!, root))) missing.push(`README.md: ${path}`);
    }
    expect(missing).toEqual([]);
  });
});
