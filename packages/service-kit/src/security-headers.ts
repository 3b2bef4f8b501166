/**
 * The headers every JSON answer of our services carries: the ones the OWASP REST Security Cheat Sheet asks of an
 * API, not helmet's page-oriented set (nothing in a JSON body is a page to frame, sniff, run scripts in or keep in a
 * shared cache). Half the bytes of helmet's set, on every response of the hot paths (see bench/README.md, P1).
 * Error answers carry them whatever produced them: a route, the router, or the HTTP parser.
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};
