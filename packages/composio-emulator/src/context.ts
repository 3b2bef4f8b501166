import type { ApiVersion } from "./serialize.js";
import type { EmulatorState } from "./state.js";

/** What every API route plugin gets: the shared state and the version prefix it is mounted under. */
export interface RouteContext {
  state: EmulatorState;
  version: ApiVersion;
  /** Base URL (no trailing slash) at which browsers reach the emulator; redirect URLs are built from it. */
  publicUrl(): string;
  linkTtlSeconds: number;
}
