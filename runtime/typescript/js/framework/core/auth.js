// The platform's auth hooks (core/auth). Locally there is no identity provider: a request is
// let through, and `env.jwt` stays unset (see the TypeScript page of the docs).
export const verifyIssuer = async (_request, _env) => true;
export const requireAuthenticated = async (_request, _env) => true;
