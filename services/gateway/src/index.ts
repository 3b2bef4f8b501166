export { BODY_LIMIT_BYTES, buildGatewayApp, type GatewayDeps } from "./app.js";
export type { GatewayContext, GatewayPrincipal, PrincipalKind } from "./context.js";
