import { errorBodySchema } from "@kronos/shared";

/** Error answers documented on routes, by status. */
export const errorResponses = <S extends 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 502 | 503>(...statuses: S[]) =>
  Object.fromEntries(statuses.map((status) => [status, errorBodySchema])) as Record<S, typeof errorBodySchema>;

type Security = { [scheme: string]: string[] }[];
export const API_KEY_SECURITY: Security = [{ apiKey: [] }];
export const TENANT_SECURITY: Security = [{ apiKey: [] }, { userToken: [] }];
export const ADMIN_SECURITY: Security = [{ adminToken: [] }];
