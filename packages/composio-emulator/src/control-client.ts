import { CONTROL_PREFIX } from "./control.js";

/** Calls the emulator's control API (faults, account statuses, firing triggers): the one client tests share. */
export async function controlEmulator<T = unknown>(emulatorUrl: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${emulatorUrl}${CONTROL_PREFIX}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`emulator control ${method} ${path}: ${response.status}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}
