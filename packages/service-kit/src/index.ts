export {
  clientErrorHandler,
  errorsPlugin,
  type FieldProblem,
  routerErrorHandler,
  sendError,
  toAppError,
  validationDetails,
} from "./errors.js";
export { globalPlugin } from "./global-plugin.js";
export { acceptEmptyJsonBodies } from "./json-body.js";
export { type OpsRoutesOptions, opsRoutes } from "./ops-routes.js";
export { genRequestId, REQUEST_ID_HEADER, requestIdPlugin } from "./request-id.js";
export { API_SECURITY_HEADERS } from "./security-headers.js";
export { createServiceApp, type ServiceAppOptions } from "./service-app.js";
export { type ShutdownOptions, stopOnSignals } from "./shutdown.js";
