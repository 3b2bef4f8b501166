import { readFileSync } from "node:fs";
import { configSchema } from "@kronos/shared";
import { describe, expect, it } from "vitest";

// The README is part of the product: these checks keep its configuration table true to the one config schema.
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const configSection = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Tests"));

describe("README", () => {
  it("documents every environment variable of the config schema", () => {
    const undocumented = Object.keys(configSchema.shape).filter((name) => !configSection.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it("documents no variable the config schema does not have", () => {
    const documented = [...configSection.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const unknown = [...new Set(documented)].filter((name) => !(name in configSchema.shape));
    expect(unknown).toEqual([]);
  });

  it("names the two commands", () => {
    expect(readme).toContain("./scripts/run.sh");
    expect(readme).toContain("./scripts/test.sh");
  });
});
